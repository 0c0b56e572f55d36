"""Builders of subscribers for the subscriber table, API and CSV tests."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import Subscription, User

T0 = 1_750_000_000  # a created_at for test subscriptions (2025-06-15)


@dataclass(frozen=True)
class Made:
    """What a test needs to know about one subscriber it made."""

    subscription_id: str
    user_id: str
    email: str
    name: str
    status: str
    created_at: int
    current_period_end: int
    cancel_at_period_end: bool


def add_subscriber(
    plan_id: str,
    *,
    email: str | None = None,
    name: str = "Test User",
    status: str = "active",
    created_at: int = T0,
    current_period_end: int = T0 + 30 * 86_400,
    cancel_at_period_end: bool = False,
) -> Made:
    """One user with one subscription, through the ORM, committed."""
    user = User(email=email or f"{uuid.uuid4().hex[:12]}@example.com", name=name)
    db.session.add(user)
    db.session.flush()
    subscription = Subscription(
        user_id=user.id,
        plan_id=plan_id,
        status=status,
        current_period_start=current_period_end - 30 * 86_400,
        current_period_end=current_period_end,
        cancel_at_period_end=cancel_at_period_end,
        created_at=created_at,
    )
    db.session.add(subscription)
    db.session.commit()
    return Made(
        subscription.id,
        user.id,
        user.email,
        user.name,
        status,
        created_at,
        current_period_end,
        cancel_at_period_end,
    )


def bulk_subscribers(
    plan_id: str,
    count: int,
    *,
    created_at: Sequence[int] | int = T0,
    statuses: Sequence[str] = ("active",),
    name: str = "Bulk User",
    email_prefix: str | None = None,
) -> list[Made]:
    """``count`` users with one subscription each, by Core bulk inserts, committed.

    ``created_at`` is one value for all (ties) or a sequence cycled over; ``statuses`` cycles.
    """
    times = [created_at] if isinstance(created_at, int) else list(created_at)
    prefix = email_prefix or uuid.uuid4().hex[:8]
    made: list[Made] = []
    users, subscriptions = [], []
    for number in range(count):
        user_id, subscription_id = str(uuid.uuid4()), str(uuid.uuid4())
        created = times[number % len(times)]
        status = statuses[number % len(statuses)]
        email = f"{prefix}-{number}@example.com"
        period_end = created + 30 * 86_400
        users.append(
            {
                "id": user_id,
                "email": email,
                "name": f"{name} {number}",
                "role": "user",
                "created_at": created,
                "session_token": uuid.uuid4().hex,
            }
        )
        subscriptions.append(
            {
                "id": subscription_id,
                "user_id": user_id,
                "plan_id": plan_id,
                "status": status,
                "current_period_start": created,
                "current_period_end": period_end,
                "cancel_at_period_end": number % 3 == 0,
                "created_at": created,
                "updated_at": created,
            }
        )
        made.append(
            Made(
                subscription_id,
                user_id,
                email,
                f"{name} {number}",
                status,
                created,
                period_end,
                number % 3 == 0,
            )
        )
    db.session.execute(sa.insert(User.__table__), users)
    db.session.execute(sa.insert(Subscription.__table__), subscriptions)
    db.session.commit()
    return made


def newest_first(made: Sequence[Made]) -> list[Made]:
    """The order the subscriber list promises: created_at descending, the id breaking ties."""
    return sorted(made, key=lambda m: (m.created_at, m.subscription_id), reverse=True)
