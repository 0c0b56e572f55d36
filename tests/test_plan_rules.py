import pytest

from billing_admin.plans.rules import PlanRuleError, check_quota_change, quota_decreases

OLD = {"tokens_input": 100, "tokens_output": 50, "requests": 5}


@pytest.mark.parametrize(
    ("new", "lowered"),
    [
        (OLD, []),
        ({**OLD, "requests": 6}, []),
        ({**OLD, "requests": None}, []),  # to unlimited is an increase
        ({"tokens_input": 100, "tokens_output": 50}, []),  # a missing key is unlimited
        (None, []),  # the whole plan becomes unlimited
        ({**OLD, "requests": 4}, [("requests", 5, 4)]),
        ({**OLD, "tokens_input": 0, "tokens_output": 1},
         [("tokens_input", 100, 0), ("tokens_output", 50, 1)]),
    ],
)  # fmt: skip
def test_quota_decreases(new, lowered):
    assert quota_decreases(OLD, new) == lowered


def test_limiting_an_unlimited_plan_is_a_decrease():
    assert quota_decreases(None, {"requests": 10}) == [("requests", None, 10)]


def test_lowering_a_quota_with_active_subscriptions_is_refused_with_the_reference_message():
    with pytest.raises(PlanRuleError) as caught:
        check_quota_change(OLD, {**OLD, "requests": 4}, active_subscriptions=3)
    assert str(caught.value) == (
        "Cannot decrease quota 'requests' from 5 to 4 while plan has active subscriptions. "
        "Create a new plan instead."
    )


def test_lowering_a_quota_without_active_subscriptions_is_allowed():
    check_quota_change(OLD, {**OLD, "requests": 4}, active_subscriptions=0)


def test_limiting_an_unlimited_plan_with_active_subscriptions_is_refused():
    with pytest.raises(PlanRuleError, match="from unlimited to 10"):
        check_quota_change(None, {"requests": 10}, active_subscriptions=1)
