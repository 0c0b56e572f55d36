"""Queries about a plan's subscribers."""

from collections.abc import Iterable

import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import Subscription


def active_subscription_counts(plan_ids: Iterable[str]) -> dict[str, int]:
    """Active subscriptions per plan, in one grouped query; plans without any are absent."""
    ids = list(plan_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Subscription.plan_id, sa.func.count())
        .where(Subscription.plan_id.in_(ids), Subscription.status == "active")
        .group_by(Subscription.plan_id)
    )
    return {plan_id: count for plan_id, count in rows}
