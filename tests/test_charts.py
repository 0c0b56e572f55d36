"""The dashboard's charts (issue 6): well-formed SVG with a title, a text alternative and axis
labels; bars as tall as their figures on the chart's own y axis; the numbers tables; nothing the
CSP refuses; and the axis helpers of dashboard/charts.py.

The figures are those of the known data set of tests/dashboard_data.py, worked out by hand in
tests/test_dashboard.py.
"""

import re
import xml.etree.ElementTree as ET

import pytest

from billing_admin.extensions import db
from billing_admin.reporting import charts
from tests.dashboard_data import (
    NOW,
    OLD,
    SVG,
    Page,
    add_known_data,
    axis_value,
    svg_elements,
)
from tests.helpers import add_plan, add_subscription

HALF_A_ROUNDING = 0.051  # coordinates are written with one decimal


@pytest.fixture
def pinned_client(set_clock, client, admin, auth):
    """An admin's client with the app's clock pinned to NOW before signing in."""
    set_clock(NOW)
    assert auth.login().status_code == 302
    return client


@pytest.fixture
def page(pinned_client) -> Page:
    add_known_data()
    response = pinned_client.get("/admin/")
    assert response.status_code == 200
    return Page(response.get_data(as_text=True))


def assert_bar_heights(chart, expected: dict[str, float]) -> None:
    """The chart's bars are exactly ``expected`` (label → value), each as tall as its value on
    the chart's y axis, standing on or above the zero line."""
    zero, per_unit = chart.scale()
    bars = {bar["label"]: bar for bar in chart.bars}
    assert set(bars) == set(expected)
    for label, value in expected.items():
        bar = bars[label]
        assert abs(bar["height"] - value * per_unit) <= HALF_A_ROUNDING, (label, bar)
        assert bar["y"] + bar["height"] <= zero + HALF_A_ROUNDING, (label, bar)


# --- Well formed -----------------------------------------------------------------------------


def test_every_chart_is_well_formed_svg_with_role_img_a_title_and_a_text_alternative(page):
    svgs = svg_elements(page.html)
    assert len(svgs) == 4  # subscribers, MRR in RUB, MRR in USD, trend
    for markup in svgs:
        svg = ET.fromstring(markup)  # raises on malformed XML
        assert svg.tag == f"{SVG}svg"
        assert svg.get("role") == "img"
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert title is not None and title.text.strip()
        assert desc is not None and desc.text.strip()
        # The accessible name and description are the title and desc elements.
        assert svg.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]


def test_each_chart_is_titled_as_its_caption_says(page):
    titles = {chart_id: page.chart(chart_id).title for chart_id in page.figure_blocks()}
    assert titles == {
        "chart-subscribers": "Active subscribers per plan, by status",
        "chart-mrr-rub": "MRR per plan, RUB",
        "chart-mrr-usd": "MRR per plan, USD",
        "chart-trend": "New and canceled subscriptions per week, last 12 weeks",
    }
    for chart_id, block in page.figure_blocks().items():
        assert f"<figcaption><strong>{titles[chart_id]}</strong></figcaption>" in block


def test_every_chart_labels_both_axes(page):
    labels = {chart_id: page.chart(chart_id).axis_labels for chart_id in page.figure_blocks()}
    assert labels == {
        "chart-subscribers": ["Plan", "Subscribers"],
        "chart-mrr-rub": ["Plan", "MRR (RUB)"],
        "chart-mrr-usd": ["Plan", "MRR (USD)"],
        "chart-trend": ["Week starting", "Subscriptions"],
    }


def test_each_y_axis_runs_from_zero_to_a_round_number_above_the_largest_bar(page):
    ticks = {chart_id: page.chart(chart_id).y_ticks for chart_id in page.figure_blocks()}
    assert {chart_id: [label for _, label in t] for chart_id, t in ticks.items()} == {
        "chart-subscribers": ["0", "1", "2", "3", "4"],  # largest stack 3 (whole steps)
        "chart-mrr-rub": ["0", "500", "1K", "1.5K", "2K"],  # largest: Monthly, 1,470.00
        "chart-mrr-usd": ["0", "5", "10", "15", "20"],  # largest: USD Monthly, 20.00
        "chart-trend": [
            "0",
            "1",
            "2",
            "3",
            "4",
        ],  # largest: 2 new in the week of 12 Dec (whole steps)
    }
    for t in ticks.values():  # evenly spaced, upwards
        steps = {round(t[i][0] - t[i + 1][0], 1) for i in range(len(t) - 1)}
        assert len(steps) == 1 and steps.pop() > 0


def test_the_text_alternative_states_the_figures(page):
    assert page.chart("chart-subscribers").description == (
        "Active subscribers per plan, by status. "
        "Daily: 3 (Active 2, Trialing 1); "
        "Weekly: 1 (Active 1); "
        "Monthly: 3 (Active 3); "
        "Yearly: 3 (Active 2, Trialing 1); "
        "USD Monthly: 1 (Active 1); "
        "USD Yearly: 1 (Active 1)"
    )
    assert page.chart("chart-mrr-rub").description == (
        "MRR per plan, RUB. Daily: 600.00; Weekly: 433.00; Monthly: 1,470.00; Yearly: 166.67"
    )


# --- The bars match the figures --------------------------------------------------------------


def test_subscriber_bars_are_as_tall_as_each_plans_counts_by_status(page):
    chart = page.chart("chart-subscribers")
    assert chart.x_labels == ["Daily", "Weekly", "Monthly", "Yearly", "USD Monthly", "USD Yearly"]
    assert_bar_heights(
        chart,
        {
            "Daily: Active 2": 2,
            "Daily: Trialing 1": 1,
            "Weekly: Active 1": 1,
            "Monthly: Active 3": 3,
            "Yearly: Active 2": 2,
            "Yearly: Trialing 1": 1,
            "USD Monthly: Active 1": 1,
            "USD Yearly: Active 1": 1,
        },
    )


def test_subscriber_bars_stack_by_status_from_the_zero_line(page):
    chart = page.chart("chart-subscribers")
    zero, _ = chart.scale()
    order = ["active", "trialing"]
    by_plan: dict[str, list[dict]] = {}
    for bar in chart.bars:
        by_plan.setdefault(bar["label"].split(":")[0], []).append(bar)
    assert len(by_plan) == 6
    for plan, bars in by_plan.items():
        bars.sort(key=lambda bar: order.index(bar["series"]))
        base = zero
        for bar in bars:
            assert abs(bar["y"] + bar["height"] - base) <= 2 * HALF_A_ROUNDING, (plan, bar)
            base = bar["y"]
        assert len({(bar["x"], bar["width"]) for bar in bars}) == 1, plan  # one column


def test_a_plan_of_30_active_and_10_trialing_draws_active_three_times_as_tall(
    pinned_client,
):
    add_plan("pro", name="Pro")
    for status, count in (("active", 30), ("trialing", 10)):
        for _ in range(count):
            add_subscription("pro", status, created_at=OLD)
    db.session.commit()
    page = Page(pinned_client.get("/admin/").get_data(as_text=True))
    chart = page.chart("chart-subscribers")
    active, trialing = chart.bar("Pro: Active 30"), chart.bar("Pro: Trialing 10")
    assert active["height"] == 3 * trialing["height"]
    assert [label for _, label in chart.y_ticks] == ["0", "10", "20", "30", "40"]
    _, per_unit = chart.scale()  # 40 of the axis's 40: its whole height
    assert abs(active["height"] + trialing["height"] - 40 * per_unit) <= HALF_A_ROUNDING
    assert chart.table.rows == [["Pro", "30", "10", "40"]]


def test_there_is_one_mrr_chart_per_currency_with_only_that_currencys_plans(page):
    mrr_charts = [chart_id for chart_id in page.figure_blocks() if chart_id.startswith("chart-mrr")]
    assert mrr_charts == ["chart-mrr-rub", "chart-mrr-usd"]
    assert page.chart("chart-mrr-rub").x_labels == ["Daily", "Weekly", "Monthly", "Yearly"]
    assert page.chart("chart-mrr-usd").x_labels == ["USD Monthly", "USD Yearly"]


def test_mrr_bars_are_as_tall_as_each_plans_mrr(page):
    assert_bar_heights(
        page.chart("chart-mrr-rub"),
        {
            "Daily: MRR 600.00": 600.00,  # 2 × 10.00 × 30
            "Weekly: MRR 433.00": 433.00,  # 1 × 100.00 × 4.33
            "Monthly: MRR 1,470.00": 1470.00,  # 3 × 490.00
            "Yearly: MRR 166.67": 166.67,  # 2 × 1000.00 / 12
        },
    )
    assert_bar_heights(
        page.chart("chart-mrr-usd"),
        {"USD Monthly: MRR 20.00": 20.00, "USD Yearly: MRR 8.33": 8.33},  # 1 × 100.00 / 12
    )


def test_trend_bars_are_as_tall_as_each_weeks_new_and_canceled_subscriptions(page):
    chart = page.chart("chart-trend")
    assert chart.x_labels[0] == "Oct 24" and chart.x_labels[-1] == "Jan 9"
    assert len(chart.x_labels) == 12
    assert_bar_heights(
        chart,
        {
            "Oct 24: New 1": 1,
            "Oct 31: Canceled 1": 1,
            "Nov 7: Canceled 1": 1,
            "Nov 14: New 1": 1,
            "Nov 21: New 1": 1,
            "Dec 12: New 2": 2,
            "Dec 12: Canceled 2": 2,
            "Jan 2: New 1": 1,
            "Jan 9: New 1": 1,
            "Jan 9: Canceled 1": 1,
        },
    )
    new, canceled = chart.bar("Jan 9: New 1"), chart.bar("Jan 9: Canceled 1")
    assert (new["series"], canceled["series"]) == ("new", "canceled")
    assert new["x"] + new["width"] <= canceled["x"] + HALF_A_ROUNDING  # side by side


# --- The numbers tables ----------------------------------------------------------------------


def test_the_subscribers_table_lists_each_plans_counts_by_status(page):
    table = page.chart("chart-subscribers").table
    assert table.head == ["Plan", "Active", "Trialing", "Total"]
    assert table.rows == [
        ["Daily", "2", "1", "3"],
        ["Weekly", "1", "0", "1"],  # its 3 past due, 2 paused and 3 canceled are not active
        ["Monthly", "3", "0", "3"],  # its paused one and 2 canceled are not active
        ["Yearly", "2", "1", "3"],
        ["USD Monthly", "1", "0", "1"],
        ["USD Yearly", "1", "0", "1"],  # its past due one is not active
    ]


def test_each_mrr_table_lists_its_currencys_plans(page):
    rub, usd = page.chart("chart-mrr-rub").table, page.chart("chart-mrr-usd").table
    assert rub.head == usd.head == ["Plan", "MRR"]
    assert rub.rows == [
        ["Daily", "600.00"],
        ["Weekly", "433.00"],
        ["Monthly", "1,470.00"],
        ["Yearly", "166.67"],
    ]
    assert usd.rows == [["USD Monthly", "20.00"], ["USD Yearly", "8.33"]]


# --- Nothing the CSP refuses -----------------------------------------------------------------


def assert_nothing_inline(html: str) -> None:
    assert not re.search(r"\sstyle\s*=", html, re.I)
    # Scripts only from our own files (static/js/forms.js), never inline.
    assert not re.search(r"<script\b(?![^>]*\bsrc=)", html, re.I)
    assert not re.search(r"<style\b", html, re.I)


def test_the_dashboard_has_no_inline_style_and_no_script(page):
    assert_nothing_inline(page.html)


def test_the_plan_page_has_no_inline_style_and_no_script(page, pinned_client):
    response = pinned_client.get("/admin/plans/weekly")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert_nothing_inline(html)
    (svg,) = svg_elements(html)
    assert ET.fromstring(svg).get("role") == "img"


def test_the_charts_of_an_empty_database_are_well_formed(pinned_client):
    html = pinned_client.get("/admin/").get_data(as_text=True)
    page = Page(html)
    assert_nothing_inline(html)
    subscribers = page.chart("chart-subscribers")
    assert subscribers.description == "Active subscribers per plan, by status: no data yet."
    assert subscribers.bars == [] and subscribers.table.rows == []
    trend = page.chart("chart-trend")
    assert trend.bars == []
    assert [row[1:] for row in trend.table.rows] == [["0", "0"]] * 12


# --- Axis helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "top"),
    [
        (0, 1),
        (-5, 1),
        (0.3, 1),
        (1, 1),
        (1.5, 2),
        (2, 2),
        (2.01, 5),
        (5, 5),
        (6, 10),
        (10, 10),
        (11, 20),
        (40, 50),
        (166.67, 200),
        (1470, 2000),
        (4990, 5000),
        (5001, 10_000),
        (999_999, 1_000_000),
        (1_000_000, 1_000_000),
        (1_000_001, 2_000_000),
    ],
)
def test_nice_maximum_is_the_next_1_2_or_5_times_a_power_of_ten(value, top):
    assert charts.nice_maximum(value) == top


@pytest.mark.parametrize("power", range(16))
def test_nice_maximum_keeps_an_exact_power_of_ten(power):
    assert charts.nice_maximum(10**power) == 10**power


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (0.25, "0.25"),
        (2.5, "2.5"),
        (12.5, "12.5"),
        (750, "750"),
        (999, "999"),
        (1000, "1K"),
        (1500, "1.5K"),
        (2500, "2.5K"),
        (125_000, "125K"),
        (1_000_000, "1M"),
        (1_500_000, "1.5M"),
        (2_000_000_000, "2B"),
        (-2500, "-2.5K"),
    ],
)
def test_axis_number_shortens_thousands_millions_and_billions(value, text):
    assert charts.axis_number(value) == text


@pytest.mark.parametrize("largest", [4990, 4_990_000])
def test_each_y_tick_label_reads_the_value_of_its_gridline(largest):
    chart = charts.stacked_bars(
        id="chart-test",
        title="MRR",
        x_axis="Plan",
        y_axis="MRR (RUB)",
        categories=["Business"],
        series=[("mrr", "MRR", [largest])],
    )
    top = charts.nice_maximum(largest)  # 5 × a power of ten
    assert [axis_value(tick.text) for tick in chart.y_ticks] == [top * i / 4 for i in range(5)]


def test_plan_names_with_markup_characters_keep_the_svg_well_formed(pinned_client):
    name = "R&D <b>\"Team\"</b> '1'"
    add_plan("rnd", name=name)
    add_subscription("rnd", "active", created_at=OLD)
    db.session.commit()
    html = pinned_client.get("/admin/").get_data(as_text=True)
    assert "<b>" not in html
    chart = Page(html).chart("chart-subscribers")
    assert chart.bar(f"{name}: Active 1")["series"] == "active"
    assert chart.description.endswith(f"{name}: 1 (Active 1)")


@pytest.mark.parametrize(
    ("largest", "top"),
    [
        (0, 4),
        (1, 4),
        (2, 4),
        (6, 8),
        (10, 12),
        (40, 40),
        (50, 80),
        (850, 1000),
        (3000, 4000),
        (99, 100),
    ],
)
def test_count_axes_step_in_whole_numbers(largest, top):
    maximum = charts.whole_number_maximum(largest)
    assert maximum == top
    assert maximum >= largest
    assert maximum / 4 == int(maximum / 4)
