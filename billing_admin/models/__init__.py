"""Typed SQLAlchemy 2 models. Importing this package registers every table on ``db.metadata``
and the audit trail's hash chain on every session (audit_chain.py)."""

from billing_admin.models import (
    audit_chain,  # noqa: F401  (chains every new audit entry)
    user_search,  # noqa: F401  (search indexes' DDL)
)
from billing_admin.models.admin_account import ACCOUNT_ROLES, AdminAccount
from billing_admin.models.admin_session import AdminSession
from billing_admin.models.api_token import TOKEN_SCOPES, ApiToken
from billing_admin.models.audit import AuditLog
from billing_admin.models.audit_verification import AuditVerification
from billing_admin.models.form_submission import FormSubmission
from billing_admin.models.idempotency_key import IdempotencyKey
from billing_admin.models.password_link import PasswordLink
from billing_admin.models.plan import Plan
from billing_admin.models.price import Price
from billing_admin.models.price_move import PriceMove
from billing_admin.models.recovery_code import RecoveryCode
from billing_admin.models.sign_in_failure import SignInFailure
from billing_admin.models.subscription import SUBSCRIPTION_STATUSES, Subscription
from billing_admin.models.subscription_count import PlanSubscriptionCount
from billing_admin.models.user import User

__all__ = [
    "ACCOUNT_ROLES",
    "SUBSCRIPTION_STATUSES",
    "TOKEN_SCOPES",
    "AdminAccount",
    "AdminSession",
    "ApiToken",
    "AuditLog",
    "AuditVerification",
    "FormSubmission",
    "IdempotencyKey",
    "PasswordLink",
    "Plan",
    "PlanSubscriptionCount",
    "Price",
    "PriceMove",
    "RecoveryCode",
    "SignInFailure",
    "Subscription",
    "User",
]
