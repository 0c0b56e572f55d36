"""Figures for the home page, each from one grouped query."""

from dataclasses import dataclass

import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import SUBSCRIPTION_STATUSES, Plan, Subscription


@dataclass(frozen=True)
class OverviewCounts:
    active_plans: int
    inactive_plans: int
    subscriptions_by_status: dict[str, int]


def overview_counts() -> OverviewCounts:
    plans = dict(
        db.session.execute(
            sa.select(Plan.is_active, sa.func.count()).group_by(Plan.is_active)
        ).all()
    )
    by_status = dict(
        db.session.execute(
            sa.select(Subscription.status, sa.func.count()).group_by(Subscription.status)
        ).all()
    )
    return OverviewCounts(
        active_plans=plans.get(True, 0),
        inactive_plans=plans.get(False, 0),
        subscriptions_by_status={
            status: by_status.get(status, 0) for status in SUBSCRIPTION_STATUSES
        },
    )
