from decimal import Decimal
from types import SimpleNamespace

import pytest

from billing_admin.formatting import compact, money, plan_price, quota_summary
from billing_admin.plans.pricing import mrr


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0, "0"),
        (500, "500"),
        (50_000, "50K"),
        (100_000, "100K"),
        (1_000_000, "1M"),
        (1_500_000, "1.5M"),
        (20_000_000, "20M"),
        (2_500_000_000, "2.5B"),
    ],
)
def test_compact(number, text):
    assert compact(number) == text


def test_quota_summary():
    quotas = {"tokens_input": 1_000_000, "tokens_output": 500_000, "requests": 5_000}
    assert quota_summary(quotas) == "1M in · 500K out · 5,000 requests"
    assert quota_summary(None) == "Unlimited"
    assert quota_summary({"tokens_input": None, "tokens_output": 5, "requests": None}) == (
        "unlimited in · 5 out · unlimited requests"
    )


def test_prices_and_money():
    plan = SimpleNamespace(price=Decimal("490"), currency="RUB", interval="month")
    assert plan_price(plan) == "490.00 RUB / month"
    assert money(Decimal("5960")) == "5,960.00 RUB"
    assert money(Decimal("12.5"), "EUR") == "12.50 EUR"


@pytest.mark.parametrize(
    ("price", "interval", "active", "expected"),
    [
        ("490.00", "month", 2, "980.00"),
        ("4704.00", "year", 1, "392.00"),  # a year counts /12
        ("100.00", "week", 3, "1299.00"),  # a week ×4.33
        ("10.00", "day", 1, "300.00"),  # a day ×30
        ("14990.00", "month", 0, "0.00"),
        ("999.99", "year", 7, "583.33"),  # rounded to the cent
    ],
)
def test_mrr(price, interval, active, expected):
    assert mrr(Decimal(price), interval, active) == Decimal(expected)
