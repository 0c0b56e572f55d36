"""Each plan field rule with a value it accepts and one it refuses."""

from dataclasses import replace
from decimal import Decimal

import pytest

from billing_admin.plans.spec import PlanSpec
from billing_admin.plans.validation import PlanValidationError, check_plan, plan_errors

VALID = PlanSpec(
    id="pro",
    name="Pro",
    price=Decimal("1490.00"),
    interval="month",
    quotas={"tokens_input": 1, "tokens_output": None, "requests": 0},
    features=("GPT-4o",),
)

CASES = [
    # field, accepted, refused
    ("id", "a-b_9", ""),
    ("id", "x" * 64, "x" * 65),
    ("id", "pro_2", "Pro"),
    ("id", "pro", "pro plan"),
    ("id", "pro", "про"),
    ("name", "x" * 100, "x" * 101),
    ("name", "P", "   "),
    ("name_ru", "x" * 100, "x" * 101),
    ("description", "x" * 1000, "x" * 1001),
    ("description_ru", "x" * 1000, "x" * 1001),
    ("price", Decimal("0"), Decimal("-0.01")),
    ("price", Decimal("99999999.99"), Decimal("100000000")),
    ("price", Decimal("1.5"), Decimal("1.555")),
    ("price", Decimal("10"), Decimal("NaN")),
    ("price", Decimal("10"), 10.5),
    ("currency", "EUR", "GBP"),
    ("currency", "USD", "rub"),
    ("interval", "day", "fortnight"),
    ("interval", "week", "Month"),
    ("quotas", None, "lots"),
    ("quotas", {"requests": 0}, {"requests": -1}),
    ("quotas", {"tokens_input": None}, {"tokens_input": 1.5}),
    ("quotas", {"tokens_output": 5}, {"tokens_output": True}),
    ("quotas", {}, {"images": 5}),
    ("features", (), "GPT-4o"),
    ("features", ("x" * 200,), ("x" * 201,)),
    ("features", ("x",) * 50, ("x",) * 51),
    ("features", ("x",), ("",)),
    ("features", ("x",), (1,)),
    ("is_active", False, "yes"),
    ("display_order", 0, -1),
    ("display_order", 7, 1.5),
    ("display_order", 7, True),
    ("plan_extra_metadata", {"promo": True}, ["promo"]),
]


@pytest.mark.parametrize(("field", "accepted", "refused"), CASES)
def test_field_rule(field, accepted, refused):
    assert plan_errors(replace(VALID, **{field: accepted})) == {}
    errors = plan_errors(replace(VALID, **{field: refused}))
    assert list(errors) == [field]
    assert errors[field]  # a message to show beside the field


def test_check_plan_raises_with_every_broken_rule_in_one_line():
    bad = replace(VALID, name="", price=Decimal("-1"), currency="GBP")
    with pytest.raises(PlanValidationError) as caught:
        check_plan(bad)
    assert set(caught.value.errors) == {"name", "price", "currency"}
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("plan 'pro' is invalid: name: ")


def test_the_id_is_not_checked_when_editing():
    assert plan_errors(replace(VALID, id="Not Valid"), check_id=False) == {}
