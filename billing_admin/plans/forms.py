"""The plan form. It only turns what the admin typed into a PlanSpec; every rule about the
values lives in plans/validation.py and plans/service.py, whose errors come back here to be
shown beside their fields."""

import json
from decimal import Decimal
from typing import Any

from babel import Locale
from flask_babel import gettext, lazy_gettext, lazy_pgettext, ngettext
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from billing_admin.formatting import grouped, request_locale
from billing_admin.forms import Form, counted
from billing_admin.parsing import NumberNotUnderstood, number_for_input, parse_number
from billing_admin.plans.labels import INTERVAL_LABELS
from billing_admin.plans.rules import PlanRuleError
from billing_admin.plans.spec import CURRENCIES, INTERVALS, QUOTA_KEYS, PlanSpec
from billing_admin.plans.validation import (
    DESCRIPTION_MAX,
    FEATURE_MAX,
    FEATURES_MAX,
    NAME_MAX,
    PLAN_ID_MAX,
)

QUOTA_LABELS = {
    "tokens_input": lazy_gettext("Input tokens per period"),
    "tokens_output": lazy_gettext("Output tokens per period"),
    "requests": lazy_gettext("Requests per period"),
}
METADATA_MAX = 10_000

# What Python's json module says is wrong, in the request's language (an unknown one is shown
# as it is).
JSON_ERRORS = {
    "Expecting value": lazy_gettext("Expecting value"),
    "Expecting property name enclosed in double quotes": lazy_gettext(
        "Expecting property name enclosed in double quotes"
    ),
    "Expecting ',' delimiter": lazy_gettext("Expecting ',' delimiter"),
    "Expecting ':' delimiter": lazy_gettext("Expecting ':' delimiter"),
    "Unterminated string starting at": lazy_gettext("Unterminated string starting at"),
    "Invalid control character at": lazy_gettext("Invalid control character at"),
    "Invalid \\escape": lazy_gettext("Invalid \\escape"),
    "Invalid \\uXXXX escape": lazy_gettext("Invalid \\uXXXX escape"),
    "Extra data": lazy_gettext("Extra data"),
    "Illegal trailing comma before end of object": lazy_gettext(
        "Illegal trailing comma before end of object"
    ),
    "Illegal trailing comma before end of array": lazy_gettext(
        "Illegal trailing comma before end of array"
    ),
}


def parse_price(text: str | None, locale: Locale | str | None = None) -> Decimal:
    """A price as typed on the page, in its language (parsing.parse_number): "1,490.50" in
    English, "1 490,50" in Russian. Raises NumberNotUnderstood with a message for the field."""
    return parse_number(text or "", locale or request_locale())


def parse_whole(text: str | None, locale: Locale | str | None = None) -> int:
    """A quota or an order as typed on the page: "5,000,000" / "5 000 000". Raises
    NumberNotUnderstood."""
    return int(parse_number(text or "", locale or request_locale(), whole=True))


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def describe_json_error(error: json.JSONDecodeError) -> str:
    return gettext(
        "Not valid JSON: %(error)s at line %(line)s, column %(column)s.",
        error=str(JSON_ERRORS.get(error.msg, error.msg)),
        line=grouped(error.lineno),
        column=grouped(error.colno),
    )


class PlanForm(Form):
    id = StringField(
        lazy_gettext("ID"),
        description=lazy_gettext(
            "Lowercase letters, digits, _ and -. Leave blank to make one from the name."
        ),
        render_kw=counted(PLAN_ID_MAX, pattern="[a-z0-9_-]*", autocomplete="off"),
    )
    # Both languages' name and description are edited side by side, whatever the interface's.
    # ("Name" is the English one: the labels are kept as they were, tests find fields by them.
    # A plan's name is "Название" in Russian, a person's "Имя": hence the context.)
    name = StringField(lazy_pgettext("plan", "Name"), render_kw=counted(NAME_MAX, lang="en"))
    name_ru = StringField(lazy_gettext("Name in Russian"), render_kw=counted(NAME_MAX, lang="ru"))
    description = TextAreaField(
        lazy_gettext("Description"),
        render_kw=counted(DESCRIPTION_MAX, rows=2, lang="en"),
    )
    description_ru = TextAreaField(
        lazy_gettext("Description in Russian"),
        render_kw=counted(DESCRIPTION_MAX, rows=2, lang="ru"),
    )
    price = StringField(
        lazy_gettext("Price"),
        description=lazy_gettext("For one billing period, e.g. 490 or 490.50."),
        render_kw={"inputmode": "decimal"},
    )
    # Currencies are shown by their codes (RUB, USD, EUR), the same in every language.
    currency = SelectField(
        lazy_gettext("Currency"), choices=[SelectChoice(c) for c in CURRENCIES], default="RUB"
    )
    interval = SelectField(
        lazy_gettext("Billing period"),
        choices=[SelectChoice(i, INTERVAL_LABELS[i]) for i in INTERVALS],
        default="month",
    )
    unlimited_plan = BooleanField(lazy_gettext("Unlimited plan (no quotas at all)"))
    tokens_input = StringField(QUOTA_LABELS["tokens_input"], render_kw={"inputmode": "numeric"})
    tokens_input_unlimited = BooleanField(lazy_gettext("Unlimited input tokens"))
    tokens_output = StringField(QUOTA_LABELS["tokens_output"], render_kw={"inputmode": "numeric"})
    tokens_output_unlimited = BooleanField(lazy_gettext("Unlimited output tokens"))
    requests = StringField(QUOTA_LABELS["requests"], render_kw={"inputmode": "numeric"})
    requests_unlimited = BooleanField(lazy_gettext("Unlimited requests"))
    features = TextAreaField(
        lazy_gettext("Features"),
        description=lazy_gettext(
            "One per line, at most %(max)s, each up to %(length)s characters.",
            max=FEATURES_MAX,
            length=FEATURE_MAX,
        ),
        render_kw={"rows": 6},
    )
    display_order = StringField(
        lazy_gettext("Display order"), default="0", render_kw={"inputmode": "numeric"}
    )
    is_active = BooleanField(lazy_gettext("Active (offered to new subscribers)"), default=True)
    plan_extra_metadata = TextAreaField(
        lazy_gettext("Extra metadata (JSON object)"),
        description=lazy_gettext('For example {"promo": true}. Leave blank for none.'),
        render_kw={"rows": 3, "spellcheck": "false"},
    )
    version = HiddenField()

    def to_spec(self, plan_id: str | None = None) -> PlanSpec | None:
        """The typed plan, or None with the parse errors set on the fields."""
        values: dict[str, Any] = {
            "id": (plan_id if plan_id is not None else (self.id.data or "").strip()),
            "name": (self.name.data or "").strip(),
            "name_ru": _optional_text(self.name_ru.data),
            "description": _optional_text(self.description.data),
            "description_ru": _optional_text(self.description_ru.data),
            "currency": self.currency.data,
            "interval": self.interval.data,
            "is_active": bool(self.is_active.data),
            "features": tuple(
                line.strip() for line in (self.features.data or "").splitlines() if line.strip()
            ),
        }
        values["price"] = self._number(
            self.price, parse_price, gettext("Enter a number, like 490 or 490.50.")
        )
        values["display_order"] = self._number(
            self.display_order, parse_whole, gettext("Enter a whole number, like 0 or 5.")
        )
        values["quotas"] = self._quotas()
        values["plan_extra_metadata"] = self._metadata()
        if any(field.errors for field in self):
            return None
        return PlanSpec(**values)

    def _quotas(self) -> dict[str, int | None] | None:
        if self.unlimited_plan.data:
            return None
        quotas: dict[str, int | None] = {}
        for key in QUOTA_KEYS:
            field, unlimited = getattr(self, key), getattr(self, f"{key}_unlimited")
            if unlimited.data:
                quotas[key] = None
                continue
            quotas[key] = self._number(
                field, parse_whole, gettext("Enter a whole number, or tick Unlimited.")
            )
        return quotas

    @staticmethod
    def _number(field, parse, blank: str) -> Any:
        """The field's number, or None with the parser's message beside the field (it shows
        how the page's language writes numbers, and what an ambiguous one could mean)."""
        if not (field.data or "").strip():
            _add_error(field, blank)
            return None
        try:
            return parse(field.data)
        except NumberNotUnderstood as error:
            _add_error(field, str(error))
            return None

    def _metadata(self) -> Any:
        text = (self.plan_extra_metadata.data or "").strip()
        if not text:
            return None
        if len(text) > METADATA_MAX:
            _add_error(
                self.plan_extra_metadata,
                ngettext(
                    "At most %(count)s character.",
                    "At most %(count)s characters.",
                    METADATA_MAX,
                    count=grouped(METADATA_MAX),
                ),
            )
            return None
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            _add_error(self.plan_extra_metadata, describe_json_error(error))
        except (ValueError, RecursionError):
            # NaN/Infinity (not JSON, and PostgreSQL refuses them), absurdly long numbers, or
            # nesting deeper than anyone means.
            _add_error(
                self.plan_extra_metadata,
                gettext(
                    "Not valid JSON: use plain numbers, strings, true/false/null, lists and "
                    "objects."
                ),
            )
        return None

    def show_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        """Put each rule's message beside its field; returns those that belong to no field."""
        unplaced = []
        for name, messages in errors.items():
            field = getattr(self, name, None)
            if name == "quotas":
                field = self.requests  # the quota rules speak of all three; show them at the end
            if field is None or not hasattr(field, "errors"):
                unplaced += messages
            else:
                for message in messages:
                    _add_error(field, message)
        return unplaced

    def show_rule_error(self, error: PlanRuleError) -> None:
        """A rule about changing a plan with subscribers, beside the quota it names, in the
        page's words (the field's label, numbers grouped)."""
        field = getattr(self, error.quota) if error.quota in QUOTA_KEYS else self.requests
        _add_error(field, error.page_message(str(field.label.text)))

    def fill_from(self, spec: PlanSpec, version: int | None = None) -> None:
        """Show a stored plan in the form (opening the edit page)."""
        self.id.data = spec.id
        self.name.data = spec.name
        self.name_ru.data = spec.name_ru or ""
        self.description.data = spec.description or ""
        self.description_ru.data = spec.description_ru or ""
        language = request_locale()
        self.price.data = number_for_input(spec.price, language, places=2)
        self.currency.data = spec.currency
        self.interval.data = spec.interval
        self.unlimited_plan.data = spec.quotas is None
        for key in QUOTA_KEYS:
            value = None if spec.quotas is None else spec.quotas.get(key)
            getattr(self, key).data = "" if value is None else number_for_input(value, language)
            getattr(self, f"{key}_unlimited").data = spec.quotas is not None and value is None
        self.features.data = "\n".join(spec.features)
        self.display_order.data = number_for_input(spec.display_order, language)
        self.is_active.data = spec.is_active
        self.plan_extra_metadata.data = (
            ""
            if spec.plan_extra_metadata is None
            else json.dumps(spec.plan_extra_metadata, ensure_ascii=False, indent=2)
        )
        self.version.data = "" if version is None else str(version)


def _optional_text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _add_error(field, message: str) -> None:
    field.errors = [*field.errors, message]
