"""The JSON bodies of the API's writes (plans; subscription actions below), read with pydantic
as the original (FastAPI) did, and every error said in FastAPI's shape: 422 ``{"detail":
[{"loc": ["body", "price"], "msg": "...", "type": "..."}]}``.

Two layers, one answer: pydantic checks each field's JSON type and refuses unknown fields
(``extra_forbidden``, ``loc`` naming the field); the plan rules themselves (lengths, ranges,
the id pattern...) are plans/validation.py's, the same as the forms'. Both are reported
together, so a client sees every field's errors at once: when some fields have the wrong type,
the rules are still checked on the others.
"""

import re
from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from billing_admin.plans.spec import PLAN_FIELDS, PlanSpec
from billing_admin.plans.validation import plan_errors

# A price is a JSON number or a decimal string ("490.00"); ASCII digits only (Python's \d and
# Decimal() would also take other scripts' digits).
MONEY_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _money(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError("decimal_type", "Input should be a number or a decimal string")
    if isinstance(value, str) and not MONEY_TEXT.fullmatch(value):
        raise PydanticCustomError(
            "decimal_parsing", 'Input should be a decimal number such as "490.00"'
        )
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]
Text = StrictStr


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanCreateBody(_Body):
    """``POST /plans``. Without ``id`` one is made from the name (plans/service.py)."""

    id: Text | None = None
    name: Text
    name_ru: Text | None = None
    description: Text | None = None
    description_ru: Text | None = None
    price: Money
    currency: Text = "RUB"
    interval: Text = "month"
    quotas: dict[str, Any] | None = None
    features: list[Text] = []
    is_active: StrictBool = True
    display_order: StrictInt = 0
    plan_extra_metadata: dict[str, Any] | None = None


class PlanUpdateBody(_Body):
    """``PUT /plans/<id>``: only the fields sent change. The defaults below are never used
    (pydantic does not validate defaults), so a field whose type is not optional refuses an
    explicit null; ``null`` clears the optional ones (``features``: to no features)."""

    name: Text = None  # type: ignore[assignment]
    name_ru: Text | None = None
    description: Text | None = None
    description_ru: Text | None = None
    price: Money = None  # type: ignore[assignment]
    currency: Text = None  # type: ignore[assignment]
    interval: Text = None  # type: ignore[assignment]
    quotas: dict[str, Any] | None = None
    features: list[Text] | None = None
    is_active: StrictBool = None  # type: ignore[assignment]
    display_order: StrictInt = None  # type: ignore[assignment]
    plan_extra_metadata: dict[str, Any] | None = None


class SubscriptionActionBody(_Body):
    """The body of a subscription action without inputs (cancel, pause...): none, ``{}``, or
    ``{"dry_run": true}`` (what would change, changing nothing)."""

    dry_run: StrictBool = False


class ChangePlanBody(SubscriptionActionBody):
    plan_id: Text
    allow_inactive: StrictBool = False


class ExtendBody(SubscriptionActionBody):
    """``days``: whole days; the range (1–366) is the service's rule (a 400 with its code)."""

    days: StrictInt


class UserPlanBody(_Body):
    """``PUT /users/<id>/subscription``, the original's ``{"plan_id": ..., "reset_usage": ...}``.
    Usage is not kept here, so ``reset_usage`` may only be false (or left out)."""

    plan_id: Text
    allow_inactive: StrictBool = False
    reset_usage: StrictBool = False

    @field_validator("reset_usage")
    @classmethod
    def _no_usage_here(cls, value: bool) -> bool:
        if value:
            raise PydanticCustomError(
                "value_error", "Usage is not kept by this service: send false, or leave it out"
            )
        return value


Body = TypeVar("Body", bound=BaseModel)


def read_body(model: type[Body], data: Any) -> Body:
    """``data`` checked against ``model``; BodyErrors (FastAPI's shape) otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BodyErrors(_pydantic_errors(exc)) from None


class BodyErrors(Exception):
    """422: ``errors`` are FastAPI-shaped items."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


def error_item(loc: tuple | list, msg: str, type_: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": type_}


def rule_errors(errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """plans/validation.py's ``{field: [message, ...]}`` as FastAPI items."""
    return [
        error_item([name], message, "value_error")
        for name, messages in errors.items()
        for message in messages
    ]


def _pydantic_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [error_item(list(e["loc"]), e["msg"], e["type"]) for e in exc.errors()]


def create_spec(data: Any) -> PlanSpec:
    """The PlanSpec a create body asks for; BodyErrors with every field's type and rule errors.
    (Whether the id is free is the service's question: PlanIdTaken.)"""
    base = PlanSpec(id="", name="placeholder", price=Decimal(0), interval="month")
    try:
        body = PlanCreateBody.model_validate(data)
    except ValidationError as exc:
        raise BodyErrors(_with_rules_of_the_rest(exc, data, base, check_id=True)) from None
    spec = _spec_from(base, body.model_dump(), set(body.model_fields_set) | set(PLAN_FIELDS))
    spec = replace(spec, id=body.id or "")
    _check_rules(spec, check_id=bool(spec.id))
    return spec


def update_spec(stored: PlanSpec, data: Any) -> tuple[PlanSpec, set[str]]:
    """The stored spec with the sent fields changed (``null`` clears a nullable one), and the
    names sent; BodyErrors as ``create_spec``."""
    try:
        body = PlanUpdateBody.model_validate(data)
    except ValidationError as exc:
        raise BodyErrors(_with_rules_of_the_rest(exc, data, stored, check_id=False)) from None
    sent = set(body.model_fields_set)
    spec = _spec_from(stored, body.model_dump(), sent)
    _check_rules(spec, check_id=False)
    return spec, sent


def _spec_from(base: PlanSpec, values: dict[str, Any], sent: set[str]) -> PlanSpec:
    changes = {name: values[name] for name in PLAN_FIELDS if name in sent}
    if "features" in changes:
        changes["features"] = tuple(changes["features"] or ())
    return replace(base, **changes)


def _check_rules(spec: PlanSpec, *, check_id: bool) -> None:
    errors = plan_errors(spec, check_id=check_id)
    if errors:
        raise BodyErrors(rule_errors(errors))


def _with_rules_of_the_rest(
    exc: ValidationError, data: Any, base: PlanSpec, *, check_id: bool
) -> list[dict[str, Any]]:
    """pydantic's errors, and the rule errors of the fields pydantic had no quarrel with."""
    errors = _pydantic_errors(exc)
    if not isinstance(data, dict):
        return errors
    failed = {e["loc"][1] for e in errors if len(e["loc"]) > 1}
    fine = {k: v for k, v in data.items() if k in PLAN_FIELDS and k not in failed}
    try:
        body = PlanUpdateBody.model_validate(fine)
    except ValidationError:
        return errors
    spec = _spec_from(base, body.model_dump(), set(body.model_fields_set))
    if check_id and isinstance(data.get("id"), str) and "id" not in failed:
        spec = replace(spec, id=data["id"])
    else:
        check_id = False
    rules = plan_errors(spec, check_id=check_id)
    checked = set(body.model_fields_set) | ({"id"} if check_id else set())
    return errors + rule_errors({k: v for k, v in rules.items() if k in checked})
