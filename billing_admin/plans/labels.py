"""How the fixed vocabularies of plans read on the page, in the request's language.

The raw values (field names, quota keys, intervals, audit actions) stay English in URLs, forms,
the database and the JSON API; these are only their labels. The English labels are the words
the pages showed before they were translated, so English pages read exactly as they did.

The plan blueprint registers TEMPLATE_FILTERS as Jinja filters (plans/views.py). Subscription
statuses have theirs in billing_admin/statuses.py (the ``subscription_status_label`` filter).
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from flask_babel import gettext, lazy_gettext, lazy_pgettext, ngettext

from billing_admin.audit.labels import SECURITY_ACTION_LABELS, SUBSCRIPTION_ACTION_LABELS
from billing_admin.formatting import (
    audit_value,
    grouped,
    money,
    price_per,
    request_locale,
)
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

# A plan's fields as the plan form labels them (plans/forms.py; a test holds the two equal), for
# the audit log, a plan's history and the stale-edit comparison (issue 16: labels, not keys).
FORM_FIELD_LABELS = {
    "id": lazy_gettext("ID"),
    "name": lazy_pgettext("plan", "Name"),
    "name_ru": lazy_gettext("Name in Russian"),
    "description": lazy_gettext("Description"),
    "description_ru": lazy_gettext("Description in Russian"),
    "price": lazy_gettext("Price"),
    "currency": lazy_gettext("Currency"),
    "interval": lazy_gettext("Billing period"),
    "quotas": lazy_gettext("Quotas"),  # the form's "Quotas per billing period" group
    "features": lazy_gettext("Features"),
    "display_order": lazy_gettext("Display order"),
    "is_active": lazy_gettext("Active (offered to new subscribers)"),
    "plan_extra_metadata": lazy_gettext("Extra metadata (JSON object)"),
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


def form_field_label(name: str) -> str:
    """ "name_ru" → "Name in Russian" / "Название на русском"; an unknown field as it is."""
    return str(FORM_FIELD_LABELS.get(name, name))


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


def change_value(value: Any, field: str, currency: str | None = None) -> str:
    """A field's value in an audit entry or the stale-edit comparison, as the pages show it: a
    billing period by its label ("month" / "месяц"), a price as money in ``currency`` ("RUB
    1,490.00" / "1 490,00 ₽"; without a currency, a number with two places), whole prices as
    prices ("RUB 490.00 / month"), quotas and whole numbers grouped as the plan page writes them
    ("Input tokens: 5,000,000 · ..."), counts by status ("active 12 · paused 1"); anything else
    as recorded."""
    if field == "interval" and isinstance(value, str):
        return interval_label(value)
    if field == "price" and isinstance(value, list | str):
        prices = [value] if isinstance(value, str) else value
        matches = [PRICE_TOKEN.match(item) if isinstance(item, str) else None for item in prices]
        if prices and all(matches):
            return "; ".join(price_per(*match.groups()) for match in matches)  # type: ignore[union-attr]
    if field == "price" and isinstance(value, str | Decimal | int) and not isinstance(value, bool):
        amount = _decimal(value)
        if amount is not None:
            return money(amount, currency) if currency else decimal_places(amount)
    if field == "quotas" and isinstance(value, dict):
        return quota_lines(value)
    if field == "subscriptions" and isinstance(value, dict):
        return " · ".join(
            f"{status_label(status)} {grouped(count)}" for status, count in value.items()
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return grouped(value)
    return audit_value(value)


def _decimal(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if amount.is_finite() else None


def quota_lines(quotas: dict[str, Any]) -> str:
    """ "Input tokens: 5,000,000 · Output tokens: unlimited · Requests: 5,000" (the plan
    page's words), in the request's language."""

    def amount(key: str) -> str:
        value = quotas.get(key)
        if value is None:
            return gettext("unlimited")
        return grouped(value) if isinstance(value, int) else audit_value(value)

    return " · ".join(
        (
            gettext("Input tokens: %(amount)s", amount=amount("tokens_input")),
            gettext("Output tokens: %(amount)s", amount=amount("tokens_output")),
            gettext("Requests: %(amount)s", amount=amount("requests")),
        )
    )


@dataclass(frozen=True)
class PlanChangeRow:
    """One field of a plan's audit entry as shown: its label, and the old and new values as
    text (None: the side has no value, as a created plan has no old one)."""

    label: str
    old: str | None
    new: str | None


# Entries that set (or clear) every field: their missing side is no value, not "unlimited".
_CREATING = frozenset({"plan_created", "plan_duplicated"})
_REMOVING = frozenset({"plan_deleted"})


def plan_change_rows(entry: Any, currency: str | None = None) -> list[PlanChangeRow]:
    """The rows of a plan's audit entry (``entry.changes``: ``{field: {"old", "new"}}``):
    labels as the plan form has them, values by ``change_value``. A price is money in the
    currency of the same side of the entry when it changed the currency, else ``currency``
    (the plan's, when it still exists). Quotas of None read "Unlimited" where a side could
    have had quotas."""
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    currencies = changes.get("currency") if isinstance(changes.get("currency"), dict) else {}
    rows = []
    for field, change in changes.items():
        if not isinstance(change, dict):
            continue
        sides = []
        for side in ("old", "new"):
            value = change.get(side)
            absent = (side == "old" and entry.action in _CREATING) or (
                side == "new" and entry.action in _REMOVING
            )
            if value is None and field == "quotas" and not absent:
                sides.append(gettext("Unlimited"))
            elif value is None:
                sides.append(None)
            else:
                sides.append(change_value(value, field, currencies.get(side) or currency))
        rows.append(PlanChangeRow(form_field_label(field), sides[0], sides[1]))
    return rows


def decimal_places(amount: Decimal) -> str:
    """A price without its currency, two places, grouped: "1,490.00" / "1 490,00"."""
    return format_decimal(amount, format="#,##0.00", locale=request_locale())


def changed_fields(count: int) -> str:
    """ "12 fields" / "12 полей": an audit entry that changed many fields, folded."""
    return ngettext("%(count)s field", "%(count)s fields", count, count=grouped(count))


TEMPLATE_FILTERS: dict[str, Any] = {
    "plan_field_label": form_field_label,
    "plan_change_rows": plan_change_rows,
    "plan_interval_label": interval_label,
    "plan_status_filter_label": status_filter_label,
    "plan_sort_label": sort_label,
    "plan_change_value": change_value,
    "audit_action_label": audit_action_label,
    "changed_fields": changed_fields,
}
