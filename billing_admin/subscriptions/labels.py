"""How a subscription's changes read on the pages (its history, the audit log, an action's
confirmation), in the request's language: "Status: active → paused"."""

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext, lazy_gettext

from billing_admin.formatting import price_per, timestamp
from billing_admin.statuses import status_label

# The columns an action changes (subscriptions/actions.py: CHANGED_COLUMNS).
COLUMN_LABELS = {
    "plan_id": lazy_gettext("Plan"),
    "price_id": lazy_gettext("Price paid"),
    "status": lazy_gettext("Status"),
    "cancel_at_period_end": lazy_gettext("Cancels at period end"),
    "canceled_at": lazy_gettext("Canceled at"),
    "current_period_end": lazy_gettext("Current period ends"),
    "trial_end": lazy_gettext("Trial ends"),
}
TIME_COLUMNS = frozenset({"canceled_at", "current_period_end", "trial_end"})


@dataclass(frozen=True)
class ChangeRow:
    label: str
    old: str
    new: str


def change_rows(
    changes: dict[str, dict[str, Any]] | None, prices: dict[str, dict[str, Any]] | None = None
) -> list[ChangeRow]:
    """One row a changed column, old → new, as the page shows them. ``prices``: the entry's
    (or the dry run's) ``{"old": {...}, "new": {...}}`` prices, for ``price_id``."""
    rows = []
    for column, change in (changes or {}).items():
        if not isinstance(change, dict):
            continue
        label = str(COLUMN_LABELS.get(column, column))
        rows.append(
            ChangeRow(
                label,
                _value(column, change.get("old"), (prices or {}).get("old")),
                _value(column, change.get("new"), (prices or {}).get("new")),
            )
        )
    return rows


def entry_change_rows(entry: Any) -> list[ChangeRow]:
    """``change_rows`` of an audit entry about a subscription (a template filter)."""
    metadata = entry.audit_metadata if isinstance(entry.audit_metadata, dict) else {}
    return change_rows(entry.changes, metadata.get("prices"))


def _value(column: str, value: Any, price: dict[str, Any] | None) -> str:
    if value is None:
        return "—"
    if column == "price_id" and isinstance(price, dict):
        try:
            return price_per(price["amount"], price["currency"], price["interval"])
        except (KeyError, ValueError, ArithmeticError):
            return str(value)
    if column == "status":
        return status_label(str(value))
    if column in TIME_COLUMNS and isinstance(value, int):
        return timestamp(value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return str(value)


TEMPLATE_FILTERS = {"subscription_change_rows": entry_change_rows}
