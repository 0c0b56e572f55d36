"""New and canceled subscriptions per week: the trend the dashboard and a plan's page draw.

Weeks are cut at midnight in the page's time zone (issue 16; docs/dashboard.md): the last week
is today and the six days before it, up to now; each earlier week is the seven calendar days
before the next. A week that holds a daylight saving change is 167 or 169 hours long, so the
boundaries are computed in Python from the tz database (zones.py) and the database sorts each
row into its week with a CASE over the 12 boundaries: still two grouped queries, each an index
range scan on ``created_at`` / ``canceled_at`` over the 84 days.
"""

from dataclasses import dataclass
from datetime import timedelta, tzinfo

import sqlalchemy as sa

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import Subscription
from billing_admin.zones import DEFAULT_ZONE, day_start, local_date, zone

DAY = 86_400
WEEK = 7 * DAY
TREND_WEEKS = 12


@dataclass(frozen=True)
class WeekCounts:
    start: int  # Unix seconds: the week's first midnight in the zone it was cut in
    new: int
    canceled: int


def week_starts(now: int, where: tzinfo) -> list[int]:
    """The 12 weeks' first moments (Unix seconds, oldest first): midnights in ``where``, seven
    days apart, the last one six days before today's (today: the day holding ``now``)."""
    first = local_date(now, where) - timedelta(days=TREND_WEEKS * 7 - 1)
    return [day_start(first + timedelta(days=7 * week), where) for week in range(TREND_WEEKS)]


def weekly_trend(
    now: int | None = None, plan_id: str | None = None, where: tzinfo | None = None
) -> list[WeekCounts]:
    """New and canceled subscriptions in each of the last 12 weeks (oldest first), weeks cut at
    midnight in zone ``where`` (UTC unless given; pages pass the admin's) and the last one
    ending ``now`` (included): two grouped queries, for every plan or for one."""
    now = now_epoch() if now is None else now
    starts = week_starts(now, zone(DEFAULT_ZONE) if where is None else where)
    new = _per_week(Subscription.created_at, starts, now, plan_id)
    canceled = _per_week(Subscription.canceled_at, starts, now, plan_id)
    return [
        WeekCounts(start, new.get(week, 0), canceled.get(week, 0))
        for week, start in enumerate(starts)
    ]


def _per_week(column, starts: list[int], now: int, plan_id: str | None) -> dict[int, int]:
    # The week of each row: the number of week starts after the first that it has reached.
    week = sa.case(
        *((column < start, number) for number, start in enumerate(starts[1:])),
        else_=len(starts) - 1,
    ).label("week")
    conditions = [column >= starts[0], column <= now]
    if plan_id is not None:
        conditions.append(Subscription.plan_id == plan_id)
    # Grouped outside a subquery, so the CASE (with its bound boundaries) is written once: a
    # GROUP BY repeating it with fresh parameters is not the same expression to PostgreSQL.
    rows = sa.select(week).where(*conditions).subquery()
    query = sa.select(rows.c.week, sa.func.count()).group_by(rows.c.week)
    return {int(number): count for number, count in db.session.execute(query)}
