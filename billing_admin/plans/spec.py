"""``PlanSpec``: a plan's editable values, independent of how they are stored.

Templates, forms and the seeding command all speak in PlanSpecs; the validation and rules
modules check them.
"""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billing_admin.models import Plan

QUOTA_KEYS = ("tokens_input", "tokens_output", "requests")
CURRENCIES = ("RUB", "USD", "EUR")
INTERVALS = ("day", "week", "month", "year")

# The stored fields a spec sets, in the order people read them (diffs and audit entries use it).
PLAN_FIELDS = (
    "name",
    "name_ru",
    "description",
    "description_ru",
    "price",
    "currency",
    "interval",
    "quotas",
    "features",
    "is_active",
    "display_order",
    "plan_extra_metadata",
)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class PlanSpec:
    id: str
    name: str
    price: Decimal
    interval: str
    currency: str = "RUB"
    name_ru: str | None = None
    description: str | None = None
    description_ru: str | None = None
    # None: the whole plan is unlimited. A missing or None key: that one metric is unlimited.
    quotas: dict[str, int | None] | None = None
    features: tuple[str, ...] = ()
    is_active: bool = True
    display_order: int = 0
    plan_extra_metadata: dict[str, Any] | None = field(default=None)

    def values(self) -> dict[str, Any]:
        """The spec as the column values it stores."""
        values = {name: getattr(self, name) for name in PLAN_FIELDS}
        values["features"] = list(self.features)
        values["quotas"] = normalise_quotas(self.quotas)
        values["plan_extra_metadata"] = (
            dict(self.plan_extra_metadata) if self.plan_extra_metadata is not None else None
        )
        return values


def plan_values(plan: Plan) -> dict[str, Any]:
    values = {name: getattr(plan, name) for name in PLAN_FIELDS}
    values["quotas"] = normalise_quotas(values["quotas"])
    return values


def normalise_quotas(quotas: dict[str, Any] | None) -> dict[str, Any] | None:
    """Every quota key present (a missing key means unlimited, the same as None), so two ways of
    writing the same quotas compare equal."""
    return None if quotas is None else {key: quotas.get(key) for key in QUOTA_KEYS}


def diff_values(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-field ``{"old": ..., "new": ...}`` for the fields that differ, in JSON-safe form."""
    return {
        name: {"old": to_json_value(old.get(name)), "new": to_json_value(new.get(name))}
        for name in PLAN_FIELDS
        if _comparable(old.get(name)) != _comparable(new.get(name))
    }


def creation_changes(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"old": None, "new": to_json_value(values.get(name))} for name in PLAN_FIELDS}


def to_json_value(value: Any) -> Any:
    # Money is kept as a string with two places so audit entries are exact, never a float.
    if isinstance(value, Decimal):
        return str(value.quantize(CENT))
    if isinstance(value, tuple):
        return list(value)
    return value


def _comparable(value: Any) -> Any:
    # JSON columns come back with any key order; compare them as canonical text.
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, Decimal):
        return value.quantize(CENT)
    return value


def format_value(value: Any, limit: int = 60) -> str:
    """A one-line rendering of a stored value for command-line output."""
    value = to_json_value(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
