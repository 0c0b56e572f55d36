"""Queries about plans' subscribers."""

from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import SUBSCRIPTION_STATUSES, Subscription


def subscription_counts(plan_ids: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
    """Subscriptions per plan and status, in one grouped query; every status is present.

    ``plan_ids=None`` counts every plan. Plans without subscriptions are absent.
    """
    query = sa.select(Subscription.plan_id, Subscription.status, sa.func.count()).group_by(
        Subscription.plan_id, Subscription.status
    )
    if plan_ids is not None:
        ids = list(plan_ids)
        if not ids:
            return {}
        query = query.where(Subscription.plan_id.in_(ids))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SUBSCRIPTION_STATUSES, 0))
    for plan_id, status, count in db.session.execute(query):
        counts[plan_id][status] = count
    return dict(counts)


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
