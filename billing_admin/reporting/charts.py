"""Charts drawn on the server as SVG: no JavaScript, nothing inline for the CSP to refuse.

These functions turn numbers into shapes (bars, ticks, labels) in a fixed coordinate space;
templates/_macros/charts.html draws them, with a title, axis labels, a text alternative and a
table of the same numbers. Colours come from CSS classes (static/css/app.css), so the charts
follow the light or dark theme.

Titles, axis titles, legends and the text alternative are in the request's language, and so are
the numbers (babel, through billing_admin/formatting.py): "2.5K" / "2,5 тыс." on an axis,
"1,470.00" / "1 470,00" in a table, "Oct 23" / "23 окт." for a week.
"""

import math
from dataclasses import dataclass

from babel.numbers import format_compact_decimal, format_decimal
from flask_babel import gettext

from billing_admin import formatting

WIDTH = 640
PLOT_LEFT = 84  # room for tick labels such as "150 тыс." beside the axis title
PLOT_RIGHT = 16
PLOT_TOP = 16
PLOT_BOTTOM = 84
HEIGHT = 320
ROTATE_LABELS_FROM = 7  # categories; fewer fit side by side
# Rotated labels reach further down: the chart grows by this much so they clear the axis title.
ROTATED_LABELS_EXTRA = 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # a CSS class suffix: chart-series-<series>
    label: str  # shown on hover (SVG <title>)


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str  # the text alternative
    x_axis: str
    y_axis: str
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    legend: list[tuple[str, str]]  # (series, label)
    table_head: list[str]
    table_rows: list[list[str]]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_bottom: int = HEIGHT - PLOT_BOTTOM
    plot_right: int = WIDTH - PLOT_RIGHT
    rotate_x_labels: bool = False


def nice_maximum(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def whole_number_maximum(value: float) -> float:
    """The axis top for counts: four equal steps of a whole, round size (1, 2, 2.5, 3 or 5 times
    a power of ten), so no gridline reads "0.5 subscriptions"."""
    needed = max(1.0, value / 4)
    power = 10 ** math.floor(math.log10(needed))
    for multiple in (1, 2, 2.5, 3, 5, 10):
        step = multiple * power
        if step >= needed and step == int(step):
            return 4 * step
    return 4 * 10 * power  # pragma: no cover - the loop always returns


def axis_number(value: float) -> str:
    """Short tick labels that fit beside the axis: 750, 2.5K, 1.5M / 750, 2,5 тыс., 1,5 млн
    (the tables are exact)."""
    return format_compact_decimal(value, fraction_digits=2, locale=formatting.request_locale())


def whole(value: float) -> str:
    """A count in a table or a text alternative: 1234 → "1,234" / "1 234"."""
    return formatting.grouped(round(value))


def amount(value: float) -> str:
    """An amount without its currency (the axis names it): "1,470.00" / "1 470,00"."""
    return format_decimal(value, format="#,##0.00", locale=formatting.request_locale())


def _label_layout(categories: int) -> dict:
    rotate = categories >= ROTATE_LABELS_FROM
    return {"rotate_x_labels": rotate, "height": HEIGHT + (ROTATED_LABELS_EXTRA if rotate else 0)}


def _y_ticks(top: float) -> list[Tick]:
    plot_height = HEIGHT - PLOT_BOTTOM - PLOT_TOP
    return [
        Tick(HEIGHT - PLOT_BOTTOM - plot_height * i / 4, axis_number(top * i / 4)) for i in range(5)
    ]


def _scale(value: float, top: float) -> float:
    return (HEIGHT - PLOT_BOTTOM - PLOT_TOP) * value / top


def stacked_bars(
    *,
    id: str,
    title: str,
    x_axis: str,
    y_axis: str,
    categories: list[str],
    series: list[tuple[str, str, list[float]]],  # (css series, label, one value a category)
    format_value=whole,
    whole_numbers: bool = False,
) -> Chart:
    """One bar a category, its series stacked; with a single series, plain bars."""
    totals = [sum(values[i] for _, _, values in series) for i in range(len(categories))]
    top = (whole_number_maximum if whole_numbers else nice_maximum)(max(totals, default=0))
    slot = (WIDTH - PLOT_LEFT - PLOT_RIGHT) / max(1, len(categories))
    bar_width = slot * 0.6
    bars, x_ticks = [], []
    for i, category in enumerate(categories):
        x = PLOT_LEFT + slot * i + (slot - bar_width) / 2
        base = HEIGHT - PLOT_BOTTOM
        for css, label, values in series:
            height = _scale(values[i], top)
            if values[i]:
                bars.append(Bar(x, base - height, bar_width, height, css,
                                f"{category}: {label} {format_value(values[i])}"))  # fmt: skip
            base -= height
        x_ticks.append(Tick(x + bar_width / 2, category))
    total = [gettext("Total")] if len(series) > 1 else []
    head = [x_axis] + [label for _, label, _ in series] + total
    rows = [
        [category]
        + [format_value(values[i]) for _, _, values in series]
        + ([format_value(totals[i])] if len(series) > 1 else [])
        for i, category in enumerate(categories)
    ]
    description = f"{title}. " + "; ".join(
        f"{category}: {format_value(totals[i])}"
        + (
            " ("
            + ", ".join(
                f"{label} {format_value(values[i])}" for _, label, values in series if values[i]
            )
            + ")"
            if len(series) > 1 and totals[i]
            else ""
        )
        for i, category in enumerate(categories)
    )
    return Chart(
        id=id,
        title=title,
        description=description if categories else gettext("%(title)s: no data yet.", title=title),
        x_axis=x_axis,
        y_axis=y_axis,
        bars=bars,
        x_ticks=x_ticks,
        y_ticks=_y_ticks(top),
        **_label_layout(len(categories)),
        legend=[(css, label) for css, label, _ in series],
        table_head=head,
        table_rows=rows,
    )


def grouped_bars(
    *,
    id: str,
    title: str,
    x_axis: str,
    y_axis: str,
    categories: list[str],
    series: list[tuple[str, str, list[float]]],
    format_value=whole,
    whole_numbers: bool = False,
) -> Chart:
    """Side by side bars a category, one a series (new beside canceled, for each week)."""
    largest = max((max(values, default=0) for _, _, values in series), default=0)
    top = (whole_number_maximum if whole_numbers else nice_maximum)(largest)
    slot = (WIDTH - PLOT_LEFT - PLOT_RIGHT) / max(1, len(categories))
    bar_width = slot * 0.8 / max(1, len(series))
    bars, x_ticks = [], []
    for i, category in enumerate(categories):
        left = PLOT_LEFT + slot * i + slot * 0.1
        for j, (css, label, values) in enumerate(series):
            height = _scale(values[i], top)
            x = left + bar_width * j
            if values[i]:
                bars.append(Bar(x, HEIGHT - PLOT_BOTTOM - height, bar_width, height, css,
                                f"{category}: {label} {format_value(values[i])}"))  # fmt: skip
        x_ticks.append(Tick(left + bar_width * len(series) / 2, category))
    rows = [
        [category] + [format_value(values[i]) for _, _, values in series]
        for i, category in enumerate(categories)
    ]
    description = f"{title}. " + "; ".join(
        f"{category}: "
        + ", ".join(f"{label} {format_value(values[i])}" for _, label, values in series)
        for i, category in enumerate(categories)
    )
    return Chart(
        id=id,
        title=title,
        description=description,
        x_axis=x_axis,
        y_axis=y_axis,
        bars=bars,
        x_ticks=x_ticks,
        y_ticks=_y_ticks(top),
        **_label_layout(len(categories)),
        legend=[(css, label) for css, label, _ in series],
        table_head=[x_axis] + [label for _, label, _ in series],
        table_rows=rows,
    )


def trend_chart(weeks, title: str | None = None, id="chart-trend") -> Chart:
    """New beside canceled subscriptions, a week each; the title by default is the dashboard's
    (translated when the chart is drawn, not when this module is imported)."""
    labels = [formatting.day_and_month(week.start) for week in weeks]
    return grouped_bars(
        id=id,
        title=title or gettext("New and canceled subscriptions per week, last 12 weeks"),
        x_axis=gettext("Week starting"),
        y_axis=gettext("Subscriptions"),
        categories=labels,
        series=[
            ("new", gettext("New"), [week.new for week in weeks]),
            ("canceled", gettext("Canceled"), [week.canceled for week in weeks]),
        ],
        whole_numbers=True,
    )
