"""Subscription counts, read from the trigger-kept counts table (models/subscription_count.py):
one small query whatever the number of subscriptions."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import SUBSCRIPTION_STATUSES, PlanSubscriptionCount, Price

# The dashboard's "active subscribers": paying or trying the plan.
ACTIVE_STATUSES = ("active", "trialing")
# MRR counts the subscriptions that pay (the original system's rule: trials do not).
PAYING_STATUS = "active"


@dataclass(frozen=True)
class PriceCount:
    """How many subscriptions of ``plan_id`` in ``status`` pay price ``price_id`` (``amount`` in
    ``currency`` each ``interval``)."""

    plan_id: str
    price_id: int
    status: str
    count: int
    amount: Decimal
    currency: str
    interval: str


def price_counts(plan_ids: Iterable[str] | None = None) -> list[PriceCount]:
    """Every non-zero count, with the price it counts: one query joining the counts table with
    ``billing_price``. ``plan_ids`` limits it to those plans (an empty list: nothing)."""
    query = (
        sa.select(
            PlanSubscriptionCount.plan_id,
            PlanSubscriptionCount.price_id,
            PlanSubscriptionCount.status,
            PlanSubscriptionCount.count,
            Price.amount,
            Price.currency,
            Price.interval,
        )
        .join(Price, Price.id == PlanSubscriptionCount.price_id)
        .where(PlanSubscriptionCount.count > 0)
    )
    if plan_ids is not None:
        ids = list(plan_ids)
        if not ids:
            return []
        query = query.where(PlanSubscriptionCount.plan_id.in_(ids))
    return [PriceCount(*row) for row in db.session.execute(query)]


def by_status(rows: Iterable[PriceCount]) -> dict[str, int]:
    """Every status present, summed over the rows' prices."""
    counts = dict.fromkeys(SUBSCRIPTION_STATUSES, 0)
    for row in rows:
        counts[row.status] += row.count
    return counts


def subscription_counts(plan_ids: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
    """Subscriptions per plan and status (over all prices), every status present; plans without
    any are absent."""
    query = sa.select(
        PlanSubscriptionCount.plan_id,
        PlanSubscriptionCount.status,
        sa.func.sum(PlanSubscriptionCount.count),
    ).group_by(PlanSubscriptionCount.plan_id, PlanSubscriptionCount.status)
    if plan_ids is not None:
        ids = list(plan_ids)
        if not ids:
            return {}
        query = query.where(PlanSubscriptionCount.plan_id.in_(ids))
    counts: dict[str, dict[str, int]] = {}
    for plan_id, status, count in db.session.execute(query):
        if count:
            counts.setdefault(plan_id, dict.fromkeys(SUBSCRIPTION_STATUSES, 0))[status] = int(count)
    return counts


def active_subscription_counts(plan_ids: Iterable[str]) -> dict[str, int]:
    """Active subscriptions per plan; plans without any are absent."""
    return {
        plan_id: counts[PAYING_STATUS]
        for plan_id, counts in subscription_counts(plan_ids).items()
        if counts[PAYING_STATUS]
    }
