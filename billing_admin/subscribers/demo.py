"""Demo users and subscriptions (`flask seed-demo`), so the tables and charts have something
to show. Bulk inserts in batches, one transaction; the same ``random_seed`` gives the same data.

Each demo user (``demoN@example.com``) has one subscription, paying its plan's current price.
Plans are picked with weights that favour cheaper plans (or ``plan_weights``); statuses are
spread like a real service's; dates are consistent with the status and the plan's billing period.
"""

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import Plan, Price, Subscription, User
from billing_admin.transactions import start_write

DAY = 86_400
PERIOD_SECONDS = {"day": DAY, "week": 7 * DAY, "month": 30 * DAY, "year": 365 * DAY}
STATUS_WEIGHTS = {"active": 60, "trialing": 8, "past_due": 5, "paused": 4, "canceled": 23}
HISTORY_DAYS = 730
TRIAL_DAYS = 14
BATCH = 10_000
MAX_SUBSCRIPTIONS = 10_000_000

FIRST_NAMES = (
    "Anna",
    "Boris",
    "Daria",
    "Egor",
    "Irina",
    "Ivan",
    "Maria",
    "Nikita",
    "Olga",
    "Pavel",
    "Sofia",
    "Timur",
    "Alex",
    "Emma",
    "Liam",
    "Noah",
    "Mia",
    "Lucas",
)
LAST_NAMES = (
    "Ivanova",
    "Petrov",
    "Smirnova",
    "Kuznetsov",
    "Popova",
    "Volkov",
    "Sokolova",
    "Lebedev",
    "Novikova",
    "Morozov",
    "Smith",
    "Brown",
    "Garcia",
    "Miller",
)


class DemoError(ValueError):
    """Why demo data cannot be made, in one line."""


@dataclass(frozen=True)
class DemoReport:
    users: int
    subscriptions: int
    skipped: bool = False


def seed_demo(
    subscriptions: int,
    *,
    random_seed: int | None = None,
    plan_weights: dict[str, float] | None = None,
    status_weights: dict[str, float] | None = None,
    if_empty: bool = False,
    progress: Callable[[int], None] | None = None,
) -> DemoReport:
    if not 1 <= subscriptions <= MAX_SUBSCRIPTIONS:
        raise DemoError(f"the number of subscriptions must be 1 to {MAX_SUBSCRIPTIONS:,}")
    start_write()
    try:
        if if_empty and db.session.scalar(sa.select(Subscription.id).limit(1)) is not None:
            db.session.rollback()
            return DemoReport(0, 0, skipped=True)
        plans = list(db.session.scalars(sa.select(Plan).order_by(Plan.price, Plan.id)))
        if not plans:
            raise DemoError("there are no plans: run `flask seed-plans` first")
        weights = _weights(plans, plan_weights)
        # New subscriptions pay their plan's current price (issue 12).
        prices = dict(
            db.session.execute(
                sa.select(Price.plan_id, Price.id).where(Price.active_until.is_(None))
            ).all()
        )
        rng = random.Random(random_seed)
        first_number = _next_demo_number()
        now = now_epoch()
        done = 0
        while done < subscriptions:
            size = min(BATCH, subscriptions - done)
            users, subs = _batch(
                rng,
                plans,
                prices,
                weights,
                status_weights or STATUS_WEIGHTS,
                first_number + done,
                size,
                now,
            )
            # In index order, so each batch touches few pages of the plan indexes.
            subs.sort(key=lambda row: (row["plan_id"], row["created_at"]))
            _insert(User.__table__, users)
            _insert(Subscription.__table__, subs)
            done += size
            if progress:
                progress(size)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return DemoReport(subscriptions, subscriptions)


def _insert(table: sa.Table, rows: list[dict]) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        # COPY: PostgreSQL's bulk path, one statement a batch, so the statement-level counting
        # trigger fires once a batch (psycopg's executemany would send a statement a row).
        columns = list(rows[0])
        cursor = db.session.connection().connection.driver_connection.cursor()
        quoted = ", ".join(f'"{name}"' for name in columns)
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([_copy_value(row[name]) for name in columns])
    else:
        db.session.execute(sa.insert(table), rows)  # executemany: SQLite's fastest path


def _copy_value(value):
    return value if not isinstance(value, dict) else json.dumps(value)


def _weights(plans: list[Plan], given: dict[str, float] | None) -> list[float]:
    if given is None:
        # Cheaper plans have more subscribers: the n-th cheapest gets weight 1/n.
        return [1 / (rank + 1) for rank in range(len(plans))]
    unknown = set(given) - {plan.id for plan in plans}
    if unknown:
        raise DemoError(f"unknown plans in the weights: {', '.join(sorted(unknown))}")
    return [given.get(plan.id, 0) for plan in plans]


def _next_demo_number() -> int:
    """Demo emails continue after the highest existing ``demoN@example.com``, so running the
    command again adds more, even after some demo users were deleted."""
    number = sa.cast(sa.func.substr(User.email, 5, sa.func.length(User.email) - 16), sa.BigInteger)
    if db.session.get_bind().dialect.name == "postgresql":
        is_demo = User.email.regexp_match(r"^demo[0-9]{1,18}@example\.com$")
    else:
        is_demo = sa.and_(
            User.email.op("GLOB")("demo[0-9]*@example.com"),
            User.email.op("NOT GLOB")("demo*[^0-9]*@example.com"),
        )
    highest = db.session.scalar(sa.select(sa.func.max(number)).where(is_demo))
    return (highest or 0) + 1


def ordered_uuid(rng: random.Random, sequence: int) -> str:
    """A UUID in version 7's layout whose time field is ``sequence``: ids made one after another
    sort one after another, so bulk inserts append to the primary-key indexes instead of
    scattering over them (several times faster on SQLite at a million rows)."""
    value = (sequence & (2**48 - 1)) << 80 | rng.getrandbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def _batch(rng, plans, prices, weights, status_weights, first_number, size, now):
    chosen_plans = rng.choices(plans, weights=weights, k=size)
    statuses = rng.choices(list(status_weights), weights=list(status_weights.values()), k=size)
    users, subscriptions = [], []
    for offset, (plan, status) in enumerate(zip(chosen_plans, statuses, strict=True)):
        number = first_number + offset
        user_id = ordered_uuid(rng, now * 1000 + number)
        created = now - rng.randrange(HISTORY_DAYS * DAY)
        users.append(
            {
                "id": user_id,
                "email": f"demo{number}@example.com",
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "role": "user",
                "password_hash": None,
                "created_at": created,
                "session_token": uuid.UUID(int=rng.getrandbits(128)).hex,
            }
        )
        subscriptions.append(
            {
                "id": ordered_uuid(rng, now * 1000 + number),
                "user_id": user_id,
                "plan_id": plan.id,
                "price_id": prices[plan.id],
                "status": status,
                **_dates(rng, status, PERIOD_SECONDS[plan.interval], created, now),
                "extra_metadata": None,
            }
        )
    return users, subscriptions


def _dates(rng, status: str, period: int, created: int, now: int) -> dict:
    """Dates that make sense together for a subscription in ``status``."""
    cancel_at_period_end, trial_end, canceled_at = False, None, None
    if status == "trialing":
        created = now - rng.randrange(TRIAL_DAYS * DAY)
        start, end = created, created + TRIAL_DAYS * DAY
        trial_end = end
    elif status == "canceled":
        # Ended after its first period, or (if that is not over yet) during it: never piled up
        # on the moment of seeding.
        first_period_end = created + period
        end = rng.randint(first_period_end if first_period_end < now else created + 1, now)
        start = max(created, end - period)
        canceled_at = end
    elif status == "past_due":
        end = now - rng.randrange(1, 10 * DAY)  # the renewal failed a few days ago
        created = min(created, end - period)
        start = end - period
    else:  # active and paused: somewhere in a current period
        periods_done = (now - created) // period
        start = created + periods_done * period
        end = start + period
        cancel_at_period_end = status == "active" and rng.random() < 0.1
    return {
        "current_period_start": start,
        "current_period_end": end,
        "cancel_at_period_end": cancel_at_period_end,
        "trial_end": trial_end,
        "canceled_at": canceled_at,
        "created_at": created,
        "updated_at": canceled_at or max(created, min(now, start)),
    }
