"""New and canceled subscriptions per week: the trend the dashboard and a plan's page draw."""

from dataclasses import dataclass

import sqlalchemy as sa

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import Subscription

DAY = 86_400
WEEK = 7 * DAY
TREND_WEEKS = 12


@dataclass(frozen=True)
class WeekCounts:
    start: int  # Unix seconds
    new: int
    canceled: int


def weekly_trend(now: int | None = None, plan_id: str | None = None) -> list[WeekCounts]:
    """New and canceled subscriptions in each of the last 12 weeks (oldest first), as rolling
    7-day buckets ending ``now``: two grouped queries, for every plan or for one."""
    now = now_epoch() if now is None else now
    start = now - TREND_WEEKS * WEEK + 1  # 84 days up to and including this second
    new = _per_week(Subscription.created_at, start, now, plan_id)
    canceled = _per_week(Subscription.canceled_at, start, now, plan_id)
    return [
        WeekCounts(start + week * WEEK, new.get(week, 0), canceled.get(week, 0))
        for week in range(TREND_WEEKS)
    ]


def _per_week(column, start: int, now: int, plan_id: str | None) -> dict[int, int]:
    week = ((column - start) // WEEK).label("week")
    conditions = [column >= start, column <= now]
    if plan_id is not None:
        conditions.append(Subscription.plan_id == plan_id)
    query = sa.select(week, sa.func.count()).where(*conditions).group_by(week)
    return {int(number): count for number, count in db.session.execute(query)}
