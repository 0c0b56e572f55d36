"""MRR tells the truth (issue 12): Σ over active subscriptions of the monthly value of the price
*each one pays*, per currency, to the cent (half up, from the exact sum), at every boundary: a
price change with and without active subscribers, a currency change, a period change, the
factors (week × 4.33, day × 30, year ÷ 12), and statuses that pay nothing yet.

Every figure is worked out by hand in the comment beside it, and checked where an admin or a
script reads it: the plan's summary (plan list and page), the dashboard, the pages themselves.
The API's ``mrr``/``mrr_by_currency`` are in tests/test_api_prices.py.
"""

from decimal import Decimal

import pytest

from billing_admin.dashboard.service import overview
from billing_admin.extensions import db
from billing_admin.models import Subscription
from billing_admin.plans import service
from billing_admin.reporting.mrr import MONTHLY_FACTOR, monthly_price, mrr
from tests.dashboard_data import Page
from tests.helpers import add_plan, add_subscriptions, change_plan

# --- The factors, alone ------------------------------------------------------------------------


def test_the_monthly_factors_are_the_original_systems():
    assert MONTHLY_FACTOR["day"] == 30
    assert MONTHLY_FACTOR["week"] == Decimal("4.33")
    assert MONTHLY_FACTOR["month"] == 1
    assert MONTHLY_FACTOR["year"] * 12 == Decimal(1)  # to Decimal's precision


@pytest.mark.parametrize(
    ("price", "interval", "subscriptions", "expected"),
    [
        ("100.00", "week", 1, "433.00"),  # 100 × 4.33
        ("99.99", "week", 3, "1298.87"),  # 99.99 × 4.33 = 432.9567; × 3 = 1,298.8701
        ("0.50", "week", 1, "2.17"),  # 2.165: half a cent rounds up
        ("9.99", "day", 2, "599.40"),  # 9.99 × 30 = 299.70; × 2
        ("0.01", "day", 1, "0.30"),
        ("4704.00", "year", 1, "392.00"),  # 4,704 / 12
        ("1000.00", "year", 2, "166.67"),  # 2,000 / 12 = 166.666…
        ("1000.50", "year", 1, "83.38"),  # 83.375: half a cent rounds up
        ("1000.00", "year", 1, "83.33"),  # 83.333…
        ("490.00", "month", 309, "151410.00"),
        ("490.00", "month", 0, "0.00"),
    ],
)
def test_mrr_to_the_cent(price, interval, subscriptions, expected):
    assert mrr(Decimal(price), interval, subscriptions) == Decimal(expected)


def test_monthly_price_is_not_rounded():
    assert monthly_price(Decimal("0.50"), "week") == Decimal("2.165")
    assert monthly_price(Decimal("1000.50"), "year") * 12 == Decimal("1000.50")


# --- Each boundary, through the plan's summary and the dashboard -------------------------------


def plan_mrr(plan_id: str) -> dict[str, Decimal]:
    """The plan's MRR per currency, in its order (the plan's own currency first)."""
    return dict(service.plan_summary(plan_id).mrr)


def test_a_price_change_with_active_subscribers_leaves_mrr_unchanged(app):
    add_plan("starter", price=Decimal("490.00"))
    add_subscriptions("starter", "active", 3)
    assert plan_mrr("starter") == {"RUB": Decimal("1470.00")}  # 3 × 490
    change_plan("starter", price=Decimal("590.00"))
    assert plan_mrr("starter") == {"RUB": Decimal("1470.00")}  # they still pay 490 each
    add_subscriptions("starter", "active")
    assert plan_mrr("starter") == {"RUB": Decimal("2060.00")}  # 3 × 490 + 1 × 590
    assert overview().mrr_by_currency == {"RUB": Decimal("2060.00")}


def test_a_price_change_without_active_subscribers_and_trials_turning_active(app):
    add_plan("starter", price=Decimal("490.00"))
    add_subscriptions("starter", "trialing", 2)
    add_subscriptions("starter", "canceled")
    change_plan("starter", price=Decimal("590.00"))
    assert plan_mrr("starter") == {"RUB": Decimal("0.00")}  # nobody pays yet
    add_subscriptions("starter", "active")
    assert plan_mrr("starter") == {"RUB": Decimal("590.00")}
    # The two trials began on 490 and pay 490 once active: 590 + 2 × 490.
    for subscription in db.session.query(Subscription).filter_by(status="trialing"):
        subscription.status = "active"
    db.session.commit()
    assert plan_mrr("starter") == {"RUB": Decimal("1570.00")}


def test_a_subscription_paying_usd_counts_in_usd_on_a_plan_now_in_rub(app):
    add_plan("global", price=Decimal("20.00"), currency="USD")
    add_subscriptions("global", "active", 2)
    change_plan("global", price=Decimal("1990.00"), currency="RUB")
    # The plan's own currency first, always present; USD while subscriptions still pay it.
    assert list(service.plan_summary("global").mrr.items()) == [
        ("RUB", Decimal("0.00")),
        ("USD", Decimal("40.00")),  # 2 × 20.00, not 2 × 1,990 roubles
    ]
    add_subscriptions("global", "active")
    assert plan_mrr("global") == {"RUB": Decimal("1990.00"), "USD": Decimal("40.00")}


def test_the_dashboard_sums_each_currency_over_plans_and_shares_within_it(app):
    add_plan("global", price=Decimal("20.00"), currency="USD", display_order=0)
    add_subscriptions("global", "active", 2)
    change_plan("global", price=Decimal("1990.00"), currency="RUB")
    add_subscriptions("global", "active")
    add_plan("pro", price=Decimal("1490.00"), display_order=1)
    add_subscriptions("pro", "active")
    add_plan("usd_only", price=Decimal("10.00"), currency="USD", display_order=2)
    add_subscriptions("usd_only", "active", 2)
    figures = overview()
    assert figures.mrr_by_currency == {
        "RUB": Decimal("3480.00"),  # global 1,990 + pro 1,490
        "USD": Decimal("60.00"),  # global's old price 2 × 20 + usd_only 2 × 10
    }
    assert {share.summary.plan.id: share.mrr_share for share in figures.plans} == {
        "global": {"RUB": Decimal("1990") / Decimal("3480"), "USD": Decimal("40") / Decimal("60")},
        "pro": {"RUB": Decimal("1490") / Decimal("3480")},
        "usd_only": {"USD": Decimal("20") / Decimal("60")},
    }


def test_a_period_change_counts_each_subscription_at_its_own_period(app):
    add_plan("starter", price=Decimal("490.00"), interval="month")
    add_subscriptions("starter", "active", 2)
    change_plan("starter", price=Decimal("4704.00"), interval="year")
    assert plan_mrr("starter") == {"RUB": Decimal("980.00")}  # 2 × 490 a month still
    add_subscriptions("starter", "active")
    assert plan_mrr("starter") == {"RUB": Decimal("1372.00")}  # 980 + 4,704 / 12 = 980 + 392


def test_a_plans_mrr_is_rounded_once_from_the_exact_sum_of_its_prices(app):
    add_plan("odd", price=Decimal("0.50"), interval="week")
    add_subscriptions("odd", "active")
    change_plan("odd", price=Decimal("1000.50"), interval="year")
    add_subscriptions("odd", "active")
    # 0.50 × 4.33 = 2.165 and 1,000.50 / 12 = 83.375: 85.54 exactly. Rounding each price first
    # would say 2.17 + 83.38 = 85.55.
    assert plan_mrr("odd") == {"RUB": Decimal("85.54")}
    assert [entry.mrr for entry in service.price_history("odd")] == [
        Decimal("83.38"),
        Decimal("2.17"),
    ]


@pytest.mark.parametrize("status", ["trialing", "past_due", "paused", "canceled"])
def test_only_active_subscriptions_count(app, status):
    add_plan("pro", price=Decimal("1490.00"))
    add_subscriptions("pro", status, 3)
    assert plan_mrr("pro") == {"RUB": Decimal("0.00")}
    add_subscriptions("pro", "active")
    assert plan_mrr("pro") == {"RUB": Decimal("1490.00")}


# --- On the pages ------------------------------------------------------------------------------


@pytest.fixture
def two_currency_plan(app):
    """Global: 2 active at USD 20.00, then RUB 1,990.00 with 1 active."""
    add_plan("global", name="Global", price=Decimal("20.00"), currency="USD")
    add_subscriptions("global", "active", 2)
    change_plan("global", price=Decimal("1990.00"), currency="RUB")
    add_subscriptions("global", "active")


def test_the_plan_list_shows_a_plans_mrr_in_each_currency(admin_client, two_currency_plan):
    html = admin_client.get("/admin/plans").get_data(as_text=True)
    (row,) = [
        row for table in Page(html).tables for row in table.rows if row[0].startswith("Global")
    ]
    assert row[4] == "RUB 1,990.00$40.00"  # the cell's text; a <br> between the two amounts
    assert "RUB\xa01,990.00<br>$40.00" in html


def test_the_plan_page_shows_its_mrr_in_each_currency(admin_client, two_currency_plan):
    page = Page(admin_client.get("/admin/plans/global").get_data(as_text=True))
    assert "MRR RUB 1,990.00 $40.00" in page.text


def test_the_dashboard_page_shows_both_currencies(admin_client, two_currency_plan):
    html = admin_client.get("/admin/").get_data(as_text=True)
    page = Page(html)
    assert page.figures["MRR"]["figures"] == ["RUB 1,990.00", "$40.00"]
    (plans,) = [t for t in page.tables if "striped" in t.css_class]
    # Cells' text; the amounts and shares of each currency are on lines of their own (<br>).
    assert plans.rows == [
        ["Global", "active 3", "3", "RUB 1,990.00$40.00", "100.0% of RUB100.0% of USD"]
    ]
    assert "100.0% of RUB<br>100.0% of USD" in html
