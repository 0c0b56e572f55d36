"""The field rules of a plan, shared by the plan forms and `flask seed-plans`.

``plan_errors`` returns every broken rule by field, so a form can show each beside its field
and the command can print them on one line.
"""

import math
import re
from decimal import Decimal
from typing import Any

from billing_admin.plans.spec import CURRENCIES, INTERVALS, QUOTA_KEYS, PlanSpec

PLAN_ID_PATTERN = re.compile(r"^[a-z0-9_-]+$")
PLAN_ID_MAX = 64
NAME_MAX = 100
DESCRIPTION_MAX = 1000
PRICE_LIMIT = Decimal("100000000")  # Numeric(10, 2) holds up to 99,999,999.99
FEATURE_MAX = 200
FEATURES_MAX = 50
# Beyond the original's rules: bounds that keep values inside their columns on every engine.
QUOTA_MAX = 10**15
DISPLAY_ORDER_MAX = 1_000_000


CONTROL_CHARACTERS = "Must not contain control characters."
NOT_UNICODE = "Holds text that is not valid Unicode (a lone surrogate such as \\ud800)."
METADATA_DEPTH_MAX = 20
# /admin/plans/new is the create page: a plan cannot have that id.
RESERVED_PLAN_IDS = frozenset({"new"})


class PlanValidationError(ValueError):
    def __init__(self, plan_id: str, errors: dict[str, list[str]]):
        self.plan_id = plan_id
        self.errors = errors
        summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
        super().__init__(f"plan '{plan_id}' is invalid: {summary}")


def plan_errors(spec: PlanSpec, *, check_id: bool = True) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if check_id:
        if not spec.id or len(spec.id) > PLAN_ID_MAX:
            fail("id", f"Must be 1 to {PLAN_ID_MAX} characters.")
        elif not PLAN_ID_PATTERN.match(spec.id):
            fail("id", "Use only lowercase letters, digits, '_' and '-'.")
    if not isinstance(spec.name, str) or not spec.name.strip() or len(spec.name) > NAME_MAX:
        fail("name", f"Must be 1 to {NAME_MAX} characters.")
    if spec.name_ru is not None and len(spec.name_ru) > NAME_MAX:
        fail("name_ru", f"Must be at most {NAME_MAX} characters.")
    for name in ("description", "description_ru"):
        value = getattr(spec, name)
        if value is not None and len(value) > DESCRIPTION_MAX:
            fail(name, f"Must be at most {DESCRIPTION_MAX} characters.")
    for name in ("name", "name_ru", "description", "description_ru"):
        if _has_control_characters(getattr(spec, name)):
            fail(name, CONTROL_CHARACTERS)
    for message in _price_errors(spec.price):
        fail("price", message)
    if spec.currency not in CURRENCIES:
        fail("currency", f"Must be one of {', '.join(CURRENCIES)}.")
    if spec.interval not in INTERVALS:
        fail("interval", f"Must be one of {', '.join(INTERVALS)}.")
    for message in _quota_errors(spec.quotas):
        fail("quotas", message)
    for message in _feature_errors(spec.features):
        fail("features", message)
    if not isinstance(spec.is_active, bool):
        fail("is_active", "Must be true or false.")
    if not _is_int(spec.display_order) or not 0 <= spec.display_order <= DISPLAY_ORDER_MAX:
        fail("display_order", f"Must be a whole number from 0 to {DISPLAY_ORDER_MAX:,}.")
    if spec.plan_extra_metadata is not None and not isinstance(spec.plan_extra_metadata, dict):
        fail("plan_extra_metadata", "Must be a JSON object.")
    else:
        problem = _json_problem(spec.plan_extra_metadata)
        if problem:
            fail("plan_extra_metadata", problem)
    if spec.id in RESERVED_PLAN_IDS:
        fail("id", f"'{spec.id}' is reserved for a page of its own: choose another ID.")
    return errors


def check_plan(spec: PlanSpec, *, check_id: bool = True) -> None:
    errors = plan_errors(spec, check_id=check_id)
    if errors:
        raise PlanValidationError(spec.id, errors)


def _has_control_characters(value: Any) -> bool:
    # Line breaks are text (descriptions have paragraphs); NUL and the like are not, and
    # PostgreSQL refuses NUL outright.
    return isinstance(value, str) and any(
        (ord(char) < 32 and char not in "\n\r\t") or ord(char) == 127 for char in value
    )


def _json_problem(value: Any) -> str | None:
    """What makes a JSON value unstorable: text that is not valid Unicode, a number that is not
    finite (1e400 reads as Infinity, which JSON has not), or nesting deeper than
    METADATA_DEPTH_MAX. Walked with a stack, so no depth can exhaust Python's recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > METADATA_DEPTH_MAX:
            return f"Nested more than {METADATA_DEPTH_MAX} levels deep."
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return NOT_UNICODE
        elif isinstance(item, float) and not math.isfinite(item):
            return "Holds a number too large to store."
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _price_errors(price: Any) -> list[str]:
    if not isinstance(price, Decimal) or not price.is_finite():
        return ["Must be a number."]
    errors = []
    if price < 0:
        errors.append("Must be 0 or more.")
    if price >= PRICE_LIMIT:
        errors.append("Must be below 100,000,000.")
    if price.as_tuple().exponent < -2:
        errors.append("Use at most two decimal places.")
    return errors


def _quota_errors(quotas: Any) -> list[str]:
    if quotas is None:
        return []
    if not isinstance(quotas, dict):
        return ["Must be an object of quotas, or unlimited."]
    unknown = sorted(set(quotas) - set(QUOTA_KEYS))
    errors = [f"Unknown quota '{key}'." for key in unknown]
    for key in QUOTA_KEYS:
        value = quotas.get(key)
        if value is not None and (not _is_int(value) or not 0 <= value <= QUOTA_MAX):
            errors.append(
                f"Quota '{key}' must be a whole number from 0 to {QUOTA_MAX:,}, or unlimited."
            )
    return errors


def _feature_errors(features: Any) -> list[str]:
    if not isinstance(features, list | tuple) or not all(isinstance(f, str) for f in features):
        return ["Must be a list of text lines."]
    errors = []
    if len(features) > FEATURES_MAX:
        errors.append(f"At most {FEATURES_MAX} features.")
    if any(len(f) > FEATURE_MAX for f in features):
        errors.append(f"Each feature must be at most {FEATURE_MAX} characters.")
    if any(not f.strip() for f in features):
        errors.append("Features cannot be blank.")
    if any(_has_control_characters(f) or "\n" in f for f in features):
        errors.append("Each feature is one line of text.")
    return errors
