"""The plan form. It only turns what the admin typed into a PlanSpec; every rule about the
values lives in plans/validation.py and plans/service.py, whose errors come back here to be
shown beside their fields."""

import json
import re
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from billing_admin.parsing import whole_number
from billing_admin.plans.spec import CURRENCIES, INTERVALS, QUOTA_KEYS, PlanSpec
from billing_admin.plans.validation import (
    DESCRIPTION_MAX,
    FEATURE_MAX,
    FEATURES_MAX,
    NAME_MAX,
    PLAN_ID_MAX,
)

QUOTA_LABELS = {
    "tokens_input": "Input tokens per period",
    "tokens_output": "Output tokens per period",
    "requests": "Requests per period",
}
METADATA_MAX = 10_000


def parse_price(text: str | None) -> Decimal | None:
    # A decimal comma is accepted too: Russian admins write 1490,50.
    text = (text or "").strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not re.fullmatch(r"-?[0-9]{1,12}(\.[0-9]{1,12})?|-?\.[0-9]{1,12}", text):
        return None
    price = Decimal(text)
    return abs(price) if price.is_zero() else price  # "-0" is 0


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def describe_json_error(error: json.JSONDecodeError) -> str:
    return f"Not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."


class PlanForm(FlaskForm):
    id = StringField(
        "ID",
        description="Lowercase letters, digits, _ and -. Leave blank to make one from the name.",
        render_kw={"maxlength": PLAN_ID_MAX, "pattern": "[a-z0-9_-]*", "autocomplete": "off"},
    )
    name = StringField("Name", render_kw={"maxlength": NAME_MAX})
    name_ru = StringField("Name in Russian", render_kw={"maxlength": NAME_MAX, "lang": "ru"})
    description = TextAreaField("Description", render_kw={"maxlength": DESCRIPTION_MAX, "rows": 2})
    description_ru = TextAreaField(
        "Description in Russian", render_kw={"maxlength": DESCRIPTION_MAX, "rows": 2, "lang": "ru"}
    )
    price = StringField(
        "Price",
        description="For one billing period, e.g. 490 or 490.50.",
        render_kw={"inputmode": "decimal"},
    )
    currency = SelectField("Currency", choices=[SelectChoice(c) for c in CURRENCIES], default="RUB")
    interval = SelectField(
        "Billing period", choices=[SelectChoice(i) for i in INTERVALS], default="month"
    )
    unlimited_plan = BooleanField("Unlimited plan (no quotas at all)")
    tokens_input = StringField(QUOTA_LABELS["tokens_input"], render_kw={"inputmode": "numeric"})
    tokens_input_unlimited = BooleanField("Unlimited input tokens")
    tokens_output = StringField(QUOTA_LABELS["tokens_output"], render_kw={"inputmode": "numeric"})
    tokens_output_unlimited = BooleanField("Unlimited output tokens")
    requests = StringField(QUOTA_LABELS["requests"], render_kw={"inputmode": "numeric"})
    requests_unlimited = BooleanField("Unlimited requests")
    features = TextAreaField(
        "Features",
        description=f"One per line, at most {FEATURES_MAX}, each up to {FEATURE_MAX} characters.",
        render_kw={"rows": 6},
    )
    display_order = StringField("Display order", default="0", render_kw={"inputmode": "numeric"})
    is_active = BooleanField("Active (offered to new subscribers)", default=True)
    plan_extra_metadata = TextAreaField(
        "Extra metadata (JSON object)",
        description='For example {"promo": true}. Leave blank for none.',
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
        price = parse_price(self.price.data)
        if price is None:
            _add_error(self.price, "Enter a number, like 490 or 490.50.")
        values["price"] = price
        order = whole_number(self.display_order.data, grouped=True)
        if order is None:
            _add_error(self.display_order, "Enter a whole number, like 0 or 5.")
        values["display_order"] = order
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
            number = whole_number(field.data, grouped=True)
            if number is None:
                _add_error(field, "Enter a whole number, or tick Unlimited.")
            quotas[key] = number
        return quotas

    def _metadata(self) -> Any:
        text = (self.plan_extra_metadata.data or "").strip()
        if not text:
            return None
        if len(text) > METADATA_MAX:
            _add_error(self.plan_extra_metadata, f"At most {METADATA_MAX:,} characters.")
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
                "Not valid JSON: use plain numbers, strings, true/false/null, lists and objects.",
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

    def fill_from(self, spec: PlanSpec, version: int | None = None) -> None:
        """Show a stored plan in the form (opening the edit page)."""
        self.id.data = spec.id
        self.name.data = spec.name
        self.name_ru.data = spec.name_ru or ""
        self.description.data = spec.description or ""
        self.description_ru.data = spec.description_ru or ""
        self.price.data = f"{spec.price:.2f}"
        self.currency.data = spec.currency
        self.interval.data = spec.interval
        self.unlimited_plan.data = spec.quotas is None
        for key in QUOTA_KEYS:
            value = None if spec.quotas is None else spec.quotas.get(key)
            getattr(self, key).data = "" if value is None else str(value)
            getattr(self, f"{key}_unlimited").data = spec.quotas is not None and value is None
        self.features.data = "\n".join(spec.features)
        self.display_order.data = str(spec.display_order)
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
