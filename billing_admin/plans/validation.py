"""The field rules of a plan, shared by the plan forms and `flask seed-plans`.

``plan_errors`` returns every broken rule by field, so a form can show each beside its field
and the command can print them on one line.
"""

import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

from flask_babel import gettext, ngettext

from billing_admin.formatting import grouped
from billing_admin.plans.labels import field_label, quota_key_label
from billing_admin.plans.spec import CURRENCIES, INTERVALS, QUOTA_KEYS, PlanSpec

# fullmatch, not match: "$" also matches before a final newline, which let "pro\n" through.
PLAN_ID_PATTERN = re.compile(r"[a-z0-9_-]+")
PLAN_ID_MAX = 64
NAME_MAX = 100
DESCRIPTION_MAX = 1000
PRICE_LIMIT = Decimal("100000000")  # Numeric(10, 2) holds up to 99,999,999.99
FEATURE_MAX = 200
FEATURES_MAX = 50
# Beyond the original's rules: bounds that keep values inside their columns on every engine.
QUOTA_MAX = 10**15
DISPLAY_ORDER_MAX = 1_000_000

METADATA_DEPTH_MAX = 20
# /admin/plans/new is the create page: a plan cannot have that id.
RESERVED_PLAN_IDS = frozenset({"new"})


class PlanValidationError(ValueError):
    """Messages are in the request's language (English in a command, which has no request)."""

    def __init__(self, plan_id: str, errors: dict[str, list[str]]):
        self.plan_id = plan_id
        self.errors = errors
        summary = "; ".join(
            gettext("%(field)s: %(messages)s", field=field_label(name), messages=" ".join(msgs))
            for name, msgs in errors.items()
        )
        super().__init__(
            gettext("plan '%(id)s' is invalid: %(errors)s", id=plan_id, errors=summary)
        )


def _at_most_characters(limit: int) -> str:
    return ngettext(
        "Must be at most %(count)s character.",
        "Must be at most %(count)s characters.",
        limit,
        count=grouped(limit),
    )


def _one_to_characters(limit: int) -> str:
    return ngettext(
        "Must be 1 to %(count)s character.",
        "Must be 1 to %(count)s characters.",
        limit,
        count=grouped(limit),
    )


def plan_errors(spec: PlanSpec, *, check_id: bool = True) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if check_id:
        if not spec.id or len(spec.id) > PLAN_ID_MAX:
            fail("id", _one_to_characters(PLAN_ID_MAX))
        elif not PLAN_ID_PATTERN.fullmatch(spec.id):
            fail("id", gettext("Use only lowercase letters, digits, '_' and '-'."))
    if not isinstance(spec.name, str) or not spec.name.strip() or len(spec.name) > NAME_MAX:
        fail("name", _one_to_characters(NAME_MAX))
    if spec.name_ru is not None and len(spec.name_ru) > NAME_MAX:
        fail("name_ru", _at_most_characters(NAME_MAX))
    for name in ("description", "description_ru"):
        value = getattr(spec, name)
        if value is not None and len(value) > DESCRIPTION_MAX:
            fail(name, _at_most_characters(DESCRIPTION_MAX))
    for name in ("name", "name_ru", "description", "description_ru"):
        if _has_control_characters(getattr(spec, name)):
            fail(name, gettext("Must not contain control characters."))
        if has_format_characters(getattr(spec, name)):
            fail(name, _invisible_message())
    for message in _price_errors(spec.price):
        fail("price", message)
    if spec.currency not in CURRENCIES:
        fail("currency", gettext("Must be one of %(choices)s.", choices=", ".join(CURRENCIES)))
    if spec.interval not in INTERVALS:
        fail("interval", gettext("Must be one of %(choices)s.", choices=", ".join(INTERVALS)))
    for message in _quota_errors(spec.quotas):
        fail("quotas", message)
    for message in _feature_errors(spec.features):
        fail("features", message)
    if not isinstance(spec.is_active, bool):
        fail("is_active", gettext("Must be true or false."))
    if not _is_int(spec.display_order) or not 0 <= spec.display_order <= DISPLAY_ORDER_MAX:
        fail(
            "display_order",
            gettext("Must be a whole number from 0 to %(max)s.", max=grouped(DISPLAY_ORDER_MAX)),
        )
    if spec.plan_extra_metadata is not None and not isinstance(spec.plan_extra_metadata, dict):
        fail("plan_extra_metadata", gettext("Must be a JSON object."))
    else:
        problem = _json_problem(spec.plan_extra_metadata)
        if problem:
            fail("plan_extra_metadata", problem)
    if spec.id in RESERVED_PLAN_IDS:
        fail(
            "id",
            gettext("'%(id)s' is reserved for a page of its own: choose another ID.", id=spec.id),
        )
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


def has_format_characters(value: Any) -> bool:
    """Whether text holds an invisible format character (Unicode category Cf): the
    bidirectional controls U+202A–U+202E and U+2066–U+2069, which reverse or re-order the text
    shown after them (a plan name with an unclosed U+202E turned the page's own words around
    it backwards), zero-width spaces and joiners, the soft hyphen, the byte-order mark. They are
    refused wherever control characters are: names, descriptions, features (ids allow ASCII
    only)."""
    return isinstance(value, str) and any(unicodedata.category(char) == "Cf" for char in value)


def _invisible_message() -> str:
    return gettext(
        "Must not contain invisible formatting characters (such as a right-to-left override "
        "or a zero-width space)."
    )


def _json_problem(value: Any) -> str | None:
    """What makes a JSON value unstorable: text that is not valid Unicode, a number that is not
    finite (1e400 reads as Infinity, which JSON has not), or nesting deeper than
    METADATA_DEPTH_MAX. Walked with a stack, so no depth can exhaust Python's recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > METADATA_DEPTH_MAX:
            return ngettext(
                "Nested more than %(count)s level deep.",
                "Nested more than %(count)s levels deep.",
                METADATA_DEPTH_MAX,
                count=grouped(METADATA_DEPTH_MAX),
            )
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return gettext(
                    "Holds text that is not valid Unicode (a lone surrogate such as \\ud800)."
                )
        elif isinstance(item, float) and not math.isfinite(item):
            return gettext("Holds a number too large to store.")
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
        return [gettext("Must be a number.")]
    errors = []
    if price < 0:
        errors.append(gettext("Must be 0 or more."))
    if price >= PRICE_LIMIT:
        errors.append(gettext("Must be below %(limit)s.", limit=grouped(PRICE_LIMIT)))
    if price.as_tuple().exponent < -2:
        errors.append(gettext("Use at most two decimal places."))
    return errors


def _quota_errors(quotas: Any) -> list[str]:
    if quotas is None:
        return []
    if not isinstance(quotas, dict):
        return [gettext("Must be an object of quotas, or unlimited.")]
    unknown = sorted(set(quotas) - set(QUOTA_KEYS))
    errors = [gettext("Unknown quota '%(key)s'.", key=key) for key in unknown]
    for key in QUOTA_KEYS:
        value = quotas.get(key)
        if value is not None and (not _is_int(value) or not 0 <= value <= QUOTA_MAX):
            errors.append(
                gettext(
                    "Quota '%(key)s' must be a whole number from 0 to %(max)s, or unlimited.",
                    key=quota_key_label(key),
                    max=grouped(QUOTA_MAX),
                )
            )
    return errors


def _feature_errors(features: Any) -> list[str]:
    if not isinstance(features, list | tuple) or not all(isinstance(f, str) for f in features):
        return [gettext("Must be a list of text lines.")]
    errors = []
    if len(features) > FEATURES_MAX:
        errors.append(
            ngettext(
                "At most %(count)s feature.",
                "At most %(count)s features.",
                FEATURES_MAX,
                count=grouped(FEATURES_MAX),
            )
        )
    if any(len(f) > FEATURE_MAX for f in features):
        errors.append(
            ngettext(
                "Each feature must be at most %(count)s character.",
                "Each feature must be at most %(count)s characters.",
                FEATURE_MAX,
                count=grouped(FEATURE_MAX),
            )
        )
    if any(not f.strip() for f in features):
        errors.append(gettext("Features cannot be blank."))
    if any(_has_control_characters(f) or "\n" in f for f in features):
        errors.append(gettext("Each feature is one line of text."))
    if any(has_format_characters(f) for f in features):
        errors.append(_invisible_message())
    return errors
