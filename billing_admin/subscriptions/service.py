"""Reading one subscription, or one user's subscriptions, for their pages (issue 13).

Cost, at any number of subscriptions: the subscription page is two queries: the subscription
joined with its user, plan and the price it pays (primary keys), then its audit entries (newest
first, from the ``(entity_type, entity_id, created_at)`` index, at most ``HISTORY_LIMIT``); a
third counts them all when there are more (the page links to the audit log for the rest). A
user's page is two: the user, then their subscriptions joined with plans and prices (the
``user_id`` index). The actions themselves are in actions.py.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext

from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan, Price, Subscription, User
from billing_admin.subscriptions.actions import ENTITY_TYPE, SubscriptionNotFound

HISTORY_LIMIT = 100


class UserNotFound(LookupError):
    def __init__(self, user_id: str):
        self.user_id = user_id
        super().__init__(gettext("User '%(id)s' not found", id=user_id))


@dataclass(frozen=True)
class SubscriptionDetails:
    """A subscription with its user, its plan, the price it pays (``billing_price``: what it
    started on, or was moved or changed to), and its audit entries, newest first."""

    subscription: Subscription
    user: User
    plan: Plan
    price: Price
    history: list[AuditLog]
    # How many entries there are in all, when more than ``history`` holds (else None).
    history_total: int | None = None

    @property
    def pays_current_price(self) -> bool:
        return self.price.active_until is None


def subscription_details(subscription_id: str, *, with_history: bool = True) -> SubscriptionDetails:
    """Raises SubscriptionNotFound. Two queries (one with ``with_history=False``: the API's
    representation has no history, and ``history`` is then empty)."""
    row = db.session.execute(
        sa.select(Subscription, User, Plan, Price)
        .join(User, User.id == Subscription.user_id)
        .join(Plan, Plan.id == Subscription.plan_id)
        .join(Price, Price.id == Subscription.price_id)
        .where(Subscription.id == subscription_id)
    ).one_or_none()
    if row is None:
        raise SubscriptionNotFound(subscription_id)
    subscription, user, plan, price = row
    if not with_history:
        return SubscriptionDetails(subscription, user, plan, price, [])
    about = (AuditLog.entity_type == ENTITY_TYPE, AuditLog.entity_id == subscription_id)
    history = list(
        db.session.scalars(
            sa.select(AuditLog)
            .where(*about)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .limit(HISTORY_LIMIT + 1)
        )
    )
    total = None
    if len(history) > HISTORY_LIMIT:  # the page says so, and links to all of them
        history = history[:HISTORY_LIMIT]
        total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(*about))
    return SubscriptionDetails(subscription, user, plan, price, history, total)


class NoCurrentSubscription(LookupError):
    def __init__(self, user_id: str):
        self.user_id = user_id
        super().__init__(gettext("User '%(id)s' has no current subscription", id=user_id))


def current_subscription_id(user_id: str) -> str:
    """The id of the user's current subscription: their newest one that is not canceled
    (newest by ``created_at``, then id), as the original's ``GET /users/<id>/subscription``
    answers with one subscription a user. One query on the ``user_id`` index (and one for the
    user when there is none). Raises UserNotFound, NoCurrentSubscription."""
    found = db.session.scalar(
        sa.select(Subscription.id)
        .where(Subscription.user_id == user_id, Subscription.status != "canceled")
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
        .limit(1)
    )
    if found is not None:
        return found
    if (db.session.get(User, user_id) if user_id else None) is None:
        raise UserNotFound(user_id)
    raise NoCurrentSubscription(user_id)


@dataclass(frozen=True)
class UserSubscription:
    subscription: Subscription
    plan: Plan
    price: Price


def user_subscriptions(user_id: str) -> tuple[User, list[UserSubscription]]:
    """The user and every subscription they have had, newest first. Raises UserNotFound."""
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        raise UserNotFound(user_id)
    rows = db.session.execute(
        sa.select(Subscription, Plan, Price)
        .join(Plan, Plan.id == Subscription.plan_id)
        .join(Price, Price.id == Subscription.price_id)
        .where(Subscription.user_id == user_id)
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
    ).all()
    return user, [UserSubscription(*row) for row in rows]


def plan_choices() -> list[Plan]:
    """Every plan a subscription could move to: active ones first, in display order."""
    return list(
        db.session.scalars(
            sa.select(Plan).order_by(Plan.is_active.desc(), Plan.display_order, Plan.id)
        )
    )
