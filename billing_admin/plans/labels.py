"""How the fixed vocabularies of plans read on the page, in the request's language.

The raw values (field names, quota keys, intervals, audit actions) stay English in URLs, forms,
the database and the JSON API; these are only their labels. The English labels are the words
the pages showed before they were translated, so English pages read exactly as they did.

The plan blueprint registers TEMPLATE_FILTERS as Jinja filters (plans/views.py). Subscription
statuses have theirs in billing_admin/statuses.py (the ``subscription_status_label`` filter).
"""

import re
from typing import Any

from flask_babel import lazy_gettext, lazy_pgettext, ngettext

from billing_admin.audit.labels import SECURITY_ACTION_LABELS, SUBSCRIPTION_ACTION_LABELS
from billing_admin.formatting import audit_value, grouped, price_per
from billing_admin.statuses import status_label

# A plan's stored fields, as the audit log and the stale-edit comparison name them.
FIELD_LABELS = {
    "name": lazy_gettext("name"),
    "name_ru": lazy_gettext("name_ru"),
    "description": lazy_gettext("description"),
    "description_ru": lazy_gettext("description_ru"),
    "price": lazy_gettext("price"),
    "currency": lazy_gettext("currency"),
    "interval": lazy_gettext("interval"),
    "quotas": lazy_gettext("quotas"),
    "features": lazy_gettext("features"),
    "is_active": lazy_gettext("is_active"),
    "display_order": lazy_gettext("display_order"),
    "plan_extra_metadata": lazy_gettext("plan_extra_metadata"),
    # A move to the current price (plans/price_moves.py): how many moved, by status.
    "subscriptions": lazy_gettext("subscriptions moved"),
}

# The quota keys, as rule and validation messages name them.
QUOTA_KEY_LABELS = {
    "tokens_input": lazy_gettext("tokens_input"),
    "tokens_output": lazy_gettext("tokens_output"),
    "requests": lazy_gettext("requests"),
}

# Billing periods (PlanSpec.interval).
INTERVAL_LABELS = {
    "day": lazy_gettext("day"),
    "week": lazy_gettext("week"),
    "month": lazy_gettext("month"),
    "year": lazy_gettext("year"),
}

# The plan list's filter (?status=...). In a context of their own: Russian says "Активные"
# (plans, plural) here and "Активен" (one plan) on a plan's badge.
STATUS_FILTER_LABELS = {
    "all": lazy_pgettext("plan filter", "All"),
    "active": lazy_pgettext("plan filter", "Active"),
    "inactive": lazy_pgettext("plan filter", "Inactive"),
}

# The plan list's orders (plans/service.py PLAN_SORTS), as its "Sort by" choice reads.
SORT_LABELS = {
    "order": lazy_gettext("Display order"),
    "name": lazy_pgettext("plan", "Name"),
    "id": lazy_gettext("ID"),
    "price": lazy_gettext("Price"),
    "subscribers": lazy_gettext("Subscribers"),
    "mrr": lazy_pgettext("table column", "MRR"),
}

# Audit actions (AuditLog.action): what happened to the plan.
AUDIT_ACTION_LABELS = {
    "plan_created": lazy_gettext("created"),
    "plan_updated": lazy_gettext("updated"),
    "plan_deleted": lazy_gettext("deleted"),
    "plan_activated": lazy_gettext("activated"),
    "plan_deactivated": lazy_gettext("deactivated"),
    "plan_duplicated": lazy_gettext("duplicated"),
    "plan_subscriptions_moved": lazy_gettext("subscriptions moved to the current price"),
    **SUBSCRIPTION_ACTION_LABELS,
    **SECURITY_ACTION_LABELS,
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def quota_key_label(key: str) -> str:
    return str(QUOTA_KEY_LABELS.get(key, key))


def interval_label(interval: str) -> str:
    return str(INTERVAL_LABELS.get(interval, interval))


def status_filter_label(status: str) -> str:
    return str(STATUS_FILTER_LABELS.get(status, status))


def sort_label(sort: str) -> str:
    return str(SORT_LABELS.get(sort, sort))


def audit_action_label(action: str) -> str:
    label = AUDIT_ACTION_LABELS.get(action)
    if label is None:  # an action this version does not know: its words, as before
        return action.removeprefix("plan_").replace("_", " ")
    return str(label)


# A whole price as recorded by a move: "490.00 RUB month" (plans/service.py: price_token).
PRICE_TOKEN = re.compile(r"^([0-9]+\.[0-9]{2}) ([A-Z]{3}) (day|week|month|year)$")


def change_value(value: Any, field: str) -> str:
    """A field's value in an audit entry or the stale-edit comparison: as recorded, except a
    billing period, which reads as its label ("month" / "месяц"), whole prices, which read as
    prices ("RUB 490.00 / month"), and counts by status ("active 12 · paused 1")."""
    if field == "interval" and isinstance(value, str):
        return interval_label(value)
    if field == "price" and isinstance(value, list | str):
        prices = [value] if isinstance(value, str) else value
        matches = [PRICE_TOKEN.match(item) if isinstance(item, str) else None for item in prices]
        if prices and all(matches):
            return "; ".join(price_per(*match.groups()) for match in matches)  # type: ignore[union-attr]
    if field == "subscriptions" and isinstance(value, dict):
        return " · ".join(
            f"{status_label(status)} {grouped(count)}" for status, count in value.items()
        )
    return audit_value(value)


def changed_fields(count: int) -> str:
    """ "12 fields" / "12 полей": an audit entry that changed many fields, folded."""
    return ngettext("%(count)s field", "%(count)s fields", count, count=grouped(count))


TEMPLATE_FILTERS: dict[str, Any] = {
    "plan_field_label": field_label,
    "plan_interval_label": interval_label,
    "plan_status_filter_label": status_filter_label,
    "plan_sort_label": sort_label,
    "plan_change_value": change_value,
    "audit_action_label": audit_action_label,
    "changed_fields": changed_fields,
}
