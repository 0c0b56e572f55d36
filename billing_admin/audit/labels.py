"""How security events read on the audit page, in the request's language. The raw values stay
English in the database, URLs and filters."""

from flask_babel import lazy_gettext

SECURITY_ACTION_LABELS = {
    "sign_in_succeeded": lazy_gettext("signed in"),
    "sign_in_failed": lazy_gettext("sign-in failed"),
    "sign_in_throttled": lazy_gettext("sign-in slowed down"),
    "signed_out": lazy_gettext("signed out"),
    "sessions_ended": lazy_gettext("sessions ended"),
    "password_changed": lazy_gettext("password changed"),
    "second_factor_enrolled": lazy_gettext("second factor turned on"),
    "second_factor_reset": lazy_gettext("second factor removed"),
    "recovery_code_used": lazy_gettext("recovery code used"),
    "account_created": lazy_gettext("account added"),
    "account_changed": lazy_gettext("account changed"),
    "account_disabled": lazy_gettext("account disabled"),
    "account_enabled": lazy_gettext("account enabled"),
    "token_created": lazy_gettext("API token created"),
    "token_revoked": lazy_gettext("API token revoked"),
    "revoked_token_used": lazy_gettext("revoked API token used"),
    "access_denied": lazy_gettext("access refused (403)"),
}

# An admin's action on one subscription (issue 13, subscriptions/actions.py).
SUBSCRIPTION_ACTION_LABELS = {
    "subscription_plan_changed": lazy_gettext("plan changed"),
    "subscription_canceled": lazy_gettext("canceled now"),
    "subscription_cancel_scheduled": lazy_gettext("set to cancel at period end"),
    "subscription_renewal_resumed": lazy_gettext("renewal resumed"),
    "subscription_paused": lazy_gettext("paused"),
    "subscription_unpaused": lazy_gettext("resumed from pause"),
    "subscription_extended": lazy_gettext("period extended"),
}

# Why a sign-in step was refused or slowed (audit_metadata["reason"]).
REASON_LABELS = {
    "password": lazy_gettext("wrong email or password"),
    "no access": lazy_gettext("no dashboard access"),
    "second factor": lazy_gettext("wrong second-factor code"),
    "account delay": lazy_gettext("too many failures for the account"),
    "client limit": lazy_gettext("too many failures from the address"),
}

# What kind of entries the audit page shows (?kind=...).
KIND_LABELS = {
    "": lazy_gettext("Everything"),
    "plans": lazy_gettext("Plan changes"),
    "subscriptions": lazy_gettext("Subscription actions"),
    "security": lazy_gettext("Security events"),
}


def reason_label(reason: str) -> str:
    return str(REASON_LABELS.get(reason, reason))


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))
