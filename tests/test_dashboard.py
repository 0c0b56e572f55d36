"""The dashboard's figures (issue 6): each one on a small known data set, against the value worked
out by hand, both from ``overview()`` and as the /admin/ page shows it; an empty database; the
number of SQL statements; the plan page's own trend.

The data set is listed in tests/dashboard_data.py (SUBSCRIPTIONS, numbered 1-25); the comments
below name the subscriptions each figure counts.
"""

import re
from decimal import Decimal

import pytest

from billing_admin.dashboard.service import overview, weekly_trend
from billing_admin.extensions import db
from tests.dashboard_data import (
    DAY,
    NOW,
    OLD,
    TREND_START,
    WEEK,
    WINDOW_START,
    Page,
    add_known_data,
    bulk_subscriptions,
)
from tests.helpers import QueryCounter, add_plan, add_subscription

# Week k of the trend starts at TREND_START + k × 604,800 (1,792,800,000 = 2026-10-24 00:00 UTC,
# a midnight in the page's zone, UTC here); the last week is today and the six days before it.
WEEK_STARTS = [1_792_800_000 + week * WEEK for week in range(12)]
# New: week 0 #20, week 3 #21, week 4 #22, week 7 #4 and #5, week 10 #16, week 11 #14.
KNOWN_NEW_PER_WEEK = [1, 0, 0, 1, 1, 0, 0, 2, 0, 0, 1, 1]
# Canceled: week 1 #23, week 2 #24, week 7 #10 and #11, week 11 #16.
KNOWN_CANCELED_PER_WEEK = [0, 1, 1, 0, 0, 0, 0, 2, 0, 0, 0, 1]

# Subscriptions per plan and status, counted from the list.
KNOWN_COUNTS = {
    "daily": {"active": 2, "trialing": 1, "past_due": 0, "paused": 0, "canceled": 0},  # 1-3
    # 4; 5, 21, 22; 19, 20; 23, 24, 25
    "weekly": {"active": 1, "trialing": 0, "past_due": 3, "paused": 2, "canceled": 3},
    "monthly": {"active": 3, "trialing": 0, "past_due": 0, "paused": 1, "canceled": 2},  # 6-11
    "yearly": {"active": 2, "trialing": 1, "past_due": 0, "paused": 0, "canceled": 0},  # 12-14
    "usd_monthly": {"active": 1, "trialing": 0, "past_due": 0, "paused": 0, "canceled": 1},
    "usd_yearly": {"active": 1, "trialing": 0, "past_due": 1, "paused": 0, "canceled": 0},
}

# MRR: active subscriptions × the monthly price, per currency (issue 12: a plan's MRR is a dict
# currency → amount; here every subscription pays its plan's only price).
KNOWN_MRR = {
    "daily": {"RUB": Decimal("600.00")},  # 2 × 10.00 × 30
    "weekly": {"RUB": Decimal("433.00")},  # 1 × 100.00 × 4.33
    "monthly": {"RUB": Decimal("1470.00")},  # 3 × 490.00
    "yearly": {"RUB": Decimal("166.67")},  # 2 × 1000.00 / 12 = 166.666… → 166.67
    "usd_monthly": {"USD": Decimal("20.00")},  # 1 × 20.00
    "usd_yearly": {"USD": Decimal("8.33")},  # 1 × 100.00 / 12 = 8.333… → 8.33
}


@pytest.fixture
def known(app, set_clock):
    set_clock(NOW)
    add_known_data()
    return overview()


@pytest.fixture
def pinned_client(set_clock, client, admin, auth):
    """An admin's client with the app's clock pinned to NOW before signing in."""
    set_clock(NOW)
    assert auth.login().status_code == 302
    return client


def dashboard(client) -> Page:
    response = client.get("/admin/")
    assert response.status_code == 200, response.status_code
    return Page(response.get_data(as_text=True))


# --- The figures, from overview() ------------------------------------------------------------


def test_active_subscribers_are_the_active_and_trialing_ones_of_every_plan(known):
    # active: 1, 2, 4, 6, 7, 8, 12, 13, 15, 17 (10); trialing: 3, 14 (2)
    assert known.active_subscribers == 12


def test_mrr_is_summed_per_currency_and_never_across_currencies(known):
    assert known.mrr_by_currency == {
        "RUB": Decimal("2669.67"),  # 600.00 + 433.00 + 1470.00 + 166.67
        "USD": Decimal("28.33"),  # 20.00 + 8.33
    }


def test_each_plans_mrr_is_its_active_subscriptions_at_the_monthly_price(known):
    assert {share.summary.plan.id: share.summary.mrr for share in known.plans} == KNOWN_MRR


def test_new_subscriptions_are_those_created_since_the_window_starts(known):
    # 4 (created at the window start), 14 (now), 16 (now - 10 days); not 5 (one second earlier)
    assert known.new_in_window == 3


def test_cancellations_are_those_canceled_from_exactly_30_days_ago(known):
    # 10 (canceled at the window start), 16 (now - 2 days); not 11 (one second earlier)
    assert known.canceled_in_window == 2


def test_active_at_window_start_are_those_created_before_it_and_not_canceled_before_it(known):
    # 25 subscriptions − created in the window (4, 14, 16) − canceled before it (11, 23, 24, 25)
    assert known.active_at_window_start == 18


def test_churn_is_the_cancellations_over_those_active_at_the_window_start(known):
    assert known.churn == Decimal(2) / Decimal(18)


def test_each_plan_counts_its_subscriptions_by_status_in_display_order(known):
    assert [share.summary.plan.id for share in known.plans] == list(KNOWN_COUNTS)
    assert {share.summary.plan.id: share.summary.counts for share in known.plans} == KNOWN_COUNTS


def test_each_plans_active_subscribers_are_its_active_and_trialing_ones(known):
    assert {share.summary.plan.id: share.active_subscribers for share in known.plans} == {
        "daily": 3,  # 2 + 1
        "weekly": 1,
        "monthly": 3,
        "yearly": 3,  # 2 + 1
        "usd_monthly": 1,
        "usd_yearly": 1,
    }


def test_each_plans_share_of_mrr_is_within_its_own_currency(known):
    # A dict currency → share since issue 12 (a plan can earn in several currencies).
    assert {share.summary.plan.id: share.mrr_share for share in known.plans} == {
        "daily": {"RUB": Decimal("600.00") / Decimal("2669.67")},
        "weekly": {"RUB": Decimal("433.00") / Decimal("2669.67")},
        "monthly": {"RUB": Decimal("1470.00") / Decimal("2669.67")},
        "yearly": {"RUB": Decimal("166.67") / Decimal("2669.67")},
        "usd_monthly": {"USD": Decimal("20.00") / Decimal("28.33")},
        "usd_yearly": {"USD": Decimal("8.33") / Decimal("28.33")},
    }


def test_the_trend_counts_new_and_canceled_subscriptions_in_12_rolling_weeks(known):
    assert [(w.start, w.new, w.canceled) for w in known.weeks] == list(
        zip(WEEK_STARTS, KNOWN_NEW_PER_WEEK, KNOWN_CANCELED_PER_WEEK, strict=True)
    )


# --- Each window edge, alone -----------------------------------------------------------------


def test_created_at_the_midnight_29_days_before_today_is_new_and_one_second_earlier_is_not(
    app, set_clock
):
    set_clock(NOW)
    add_plan("pro")
    add_subscription("pro", "active", created_at=WINDOW_START)
    add_subscription("pro", "active", created_at=WINDOW_START - 1)
    db.session.commit()
    figures = overview()
    assert figures.new_in_window == 1
    assert figures.active_at_window_start == 1  # the one created a second before the window


def test_canceled_at_the_window_start_is_in_the_window_and_one_second_earlier_is_not(
    app, set_clock
):
    set_clock(NOW)
    add_plan("pro")
    add_subscription("pro", "canceled", created_at=OLD, canceled_at=WINDOW_START)
    add_subscription("pro", "canceled", created_at=OLD, canceled_at=WINDOW_START - 1)
    db.session.commit()
    figures = overview()
    assert figures.canceled_in_window == 1
    # Only the one canceled at the window start was still active when the window began.
    assert figures.active_at_window_start == 1
    assert figures.churn == 1


def test_the_trend_covers_84_calendar_days_up_to_and_including_now_in_7_day_buckets(app, set_clock):
    set_clock(NOW)
    add_plan("pro")
    for created_at, canceled_at in (
        (TREND_START - 1, TREND_START - 1),  # before week 0: in no week
        (TREND_START, TREND_START),  # first second of week 0
        (TREND_START + WEEK - 1, TREND_START + WEEK - 1),  # last second of week 0
        (TREND_START + WEEK, TREND_START + WEEK),  # first second of week 1
        (NOW, NOW),  # the last second of week 11
        (NOW + 1, NOW + 1),  # after now: in no week
    ):
        add_subscription("pro", "canceled", created_at=created_at, canceled_at=canceled_at)
    db.session.commit()
    weeks = weekly_trend(NOW)
    expected = [2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert [w.start for w in weeks] == WEEK_STARTS
    assert [w.new for w in weeks] == expected
    assert [w.canceled for w in weeks] == expected


def test_a_plan_whose_currency_earns_nothing_has_no_share(app, set_clock):
    set_clock(NOW)
    add_plan("free", price=Decimal("0.00"))
    add_subscription("free", "active", created_at=OLD)
    db.session.commit()
    (share,) = overview().plans
    assert share.mrr_share == {"RUB": None}


# --- The figures, on the page ----------------------------------------------------------------


def test_the_page_shows_the_key_figures(pinned_client):
    add_known_data()
    figures = dashboard(pinned_client).figures
    assert figures["Active subscribers"]["figures"] == ["12"]
    assert figures["MRR"]["figures"] == ["RUB 2,669.67", "$28.33"]
    assert figures["Last 30 days"]["figures"] == ["+3 / −2"]
    assert figures["Churn, last 30 days"]["figures"] == ["11.1%"]  # 2 / 18 = 0.1111…
    assert figures["Churn, last 30 days"]["note"] == "2 canceled of 18 active 30 days ago"


def test_the_page_shows_each_plans_subscribers_mrr_and_share(pinned_client):
    add_known_data()
    (plans,) = [t for t in dashboard(pinned_client).tables if "striped" in t.css_class]
    assert plans.head == ["Plan", "Subscribers", "Active + trialing", "MRR", "Share of MRR"]
    assert plans.rows == [
        ["Daily", "active 2 trialing 1", "3", "RUB 600.00", "22.5% of RUB"],  # 600/2669.67
        ["Weekly", "active 1 past due 3 paused 2 canceled 3", "1", "RUB 433.00", "16.2% of RUB"],
        ["Monthly", "active 3 paused 1 canceled 2", "3", "RUB 1,470.00", "55.1% of RUB"],
        ["Yearly", "active 2 trialing 1", "3", "RUB 166.67", "6.2% of RUB"],  # 166.67/2669.67
        ["USD Monthly", "active 1 canceled 1", "1", "$20.00", "70.6% of USD"],  # 20/28.33
        ["USD Yearly", "active 1 past due 1", "1", "$8.33", "29.4% of USD"],  # 8.33/28.33
    ]


def test_the_page_shows_the_weekly_trend(pinned_client):
    add_known_data()
    trend = dashboard(pinned_client).chart("chart-trend").table
    assert trend.head == ["Week starting", "New", "Canceled"]
    assert trend.rows == [
        ["Oct 24", "1", "0"],
        ["Oct 31", "0", "1"],
        ["Nov 7", "0", "1"],
        ["Nov 14", "1", "0"],
        ["Nov 21", "1", "0"],
        ["Nov 28", "0", "0"],
        ["Dec 5", "0", "0"],
        ["Dec 12", "2", "2"],
        ["Dec 19", "0", "0"],
        ["Dec 26", "0", "0"],
        ["Jan 2", "1", "0"],
        ["Jan 9", "1", "1"],
    ]


# --- Empty databases -------------------------------------------------------------------------


def test_an_empty_database_renders_the_dashboard(pinned_client):
    page = dashboard(pinned_client)
    assert page.figures["Active subscribers"]["figures"] == ["0"]
    assert page.figures["MRR"]["figures"] == ["—"]
    assert page.figures["Last 30 days"]["figures"] == ["+0 / −0"]
    assert page.figures["Churn, last 30 days"]["figures"] == ["—"]
    assert "There are no plans yet." in page.text
    assert list(page.figure_blocks()) == ["chart-subscribers", "chart-trend"]  # no currency


def test_plans_without_subscriptions_render_the_dashboard(pinned_client):
    add_plan("starter", name="Starter", price=Decimal("490.00"), display_order=0)
    add_plan("pro_usd", name="Pro USD", price=Decimal("20.00"), currency="USD", display_order=1)
    page = dashboard(pinned_client)
    assert page.figures["Active subscribers"]["figures"] == ["0"]
    assert page.figures["MRR"]["figures"] == ["RUB 0.00", "$0.00"]
    assert page.figures["Last 30 days"]["figures"] == ["+0 / −0"]
    assert page.figures["Churn, last 30 days"]["figures"] == ["—"]
    (plans,) = [t for t in page.tables if "striped" in t.css_class]
    assert plans.rows == [
        ["Starter", "None", "0", "RUB 0.00", "—"],
        ["Pro USD", "None", "0", "$0.00", "—"],
    ]


# --- Cost ------------------------------------------------------------------------------------


def add_plans_and_subscriptions(first_plan: int, plans: int, subscriptions: int) -> None:
    """Plans of every interval and two currencies; subscriptions of every status spread over
    the window, the trend and before them."""
    intervals = ("day", "week", "month", "year")
    for n in range(first_plan, first_plan + plans):
        add_plan(
            f"p{n}",
            interval=intervals[n % 4],
            currency=("RUB", "USD")[n % 2],
            display_order=n,
        )
    statuses = ("active", "trialing", "past_due", "paused", "canceled")
    rows = []
    for n in range(subscriptions):
        created_at = NOW - (n * 7919 % 150) * DAY
        status = statuses[n % 5]
        canceled_at = min(NOW, created_at + 20 * DAY) if status == "canceled" else None
        rows.append((f"p{first_plan + n % plans}", status, created_at, canceled_at))
    bulk_subscriptions(rows)


def test_the_dashboard_runs_the_same_number_of_statements_whatever_the_data_size(pinned_client):
    def statements() -> int:
        with QueryCounter(db.engine) as counter:
            assert pinned_client.get("/admin/").status_code == 200
        return counter.count

    add_plans_and_subscriptions(0, plans=2, subscriptions=5)
    small = statements()
    add_plans_and_subscriptions(2, plans=18, subscriptions=195)  # 20 plans, 200 subscriptions
    assert statements() == small


# --- The plan page ---------------------------------------------------------------------------


def test_the_plan_page_shows_that_plans_own_weekly_trend(pinned_client):
    add_plan("mine", name="Mine")
    add_plan("other", name="Other")
    # Mine: new in week 0 and week 11, one of them canceled in week 11.
    add_subscription("mine", "active", created_at=TREND_START)
    add_subscription("mine", "canceled", created_at=NOW - DAY, canceled_at=NOW)
    # Other: new in weeks 0, 5 and 11, canceled in week 5; none of these are Mine's.
    add_subscription("other", "active", created_at=TREND_START)
    add_subscription("other", "active", created_at=TREND_START + 5 * WEEK)
    add_subscription("other", "canceled", created_at=OLD, canceled_at=TREND_START + 5 * WEEK)
    add_subscription("other", "active", created_at=NOW)
    db.session.commit()
    response = pinned_client.get("/admin/plans/mine")
    assert response.status_code == 200
    trend = Page(response.get_data(as_text=True)).chart("chart-plan-trend").table
    assert [row[1:] for row in trend.rows] == [
        ["1", "0"],
        *[["0", "0"]] * 10,
        ["1", "1"],
    ]
    assert [row[0] for row in trend.rows][::11] == ["Oct 24", "Jan 9"]


def test_the_dashboard_marks_inactive_plans_and_only_them(client, admin, auth):
    add_plan("pro")
    add_plan("legacy", is_active=False)
    auth.login()
    html = client.get("/admin/").get_data(as_text=True)
    rows = {
        plan_id: row
        for row in html.split("<tr>")[1:]
        for plan_id in re.findall(r'href="/admin/plans/([a-z_]+)"', row)[:1]
    }
    assert '<span class="badge badge-inactive">Inactive</span>' in rows["legacy"]
    assert "badge-inactive" not in rows["pro"]
