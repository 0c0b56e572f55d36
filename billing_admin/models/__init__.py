"""Typed SQLAlchemy 2 models. Importing this package registers every table on ``db.metadata``."""

from billing_admin.models.api_token import ApiToken
from billing_admin.models.audit import AuditLog
from billing_admin.models.plan import Plan
from billing_admin.models.price import Price
from billing_admin.models.price_move import PriceMove
from billing_admin.models.sign_in_failure import SignInFailure
from billing_admin.models.subscription import SUBSCRIPTION_STATUSES, Subscription
from billing_admin.models.subscription_count import PlanSubscriptionCount
from billing_admin.models.user import User

__all__ = [
    "SUBSCRIPTION_STATUSES",
    "ApiToken",
    "AuditLog",
    "Plan",
    "PlanSubscriptionCount",
    "Price",
    "PriceMove",
    "SignInFailure",
    "Subscription",
    "User",
]
