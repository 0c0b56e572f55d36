"""The dashboard tests' known data set, and readers for the dashboard page and its charts.

Every figure the tests expect from this data set is worked out by hand in the tests, from the
list below; nothing here calls the code under test.
"""

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser

import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import Subscription, User
from tests.helpers import add_plan, add_subscription

DAY = 86_400
WEEK = 7 * DAY
NOW = 1_800_000_000  # 2027-01-15 08:00:00 UTC
# The page's zone is UTC here (DISPLAY_TIMEZONE's default): windows start at UTC midnights.
TODAY = 1_799_971_200  # 2027-01-15 00:00:00 UTC: today's midnight
WINDOW_START = TODAY - 29 * DAY  # 1_797_465_600 (2026-12-17 00:00 UTC): inside the window
TREND_START = TODAY - 83 * DAY  # 1_792_800_000 (2026-10-24 00:00 UTC): week 0 starts here
OLD = NOW - 200 * DAY  # before the window and before the trend
SVG = "{http://www.w3.org/2000/svg}"


# (plan id, name, currency, interval, price, display order)
PLANS = [
    ("daily", "Daily", "RUB", "day", "10.00", 0),
    ("weekly", "Weekly", "RUB", "week", "100.00", 1),
    ("monthly", "Monthly", "RUB", "month", "490.00", 2),
    ("yearly", "Yearly", "RUB", "year", "1000.00", 3),
    ("usd_monthly", "USD Monthly", "USD", "month", "20.00", 4),
    ("usd_yearly", "USD Yearly", "USD", "year", "100.00", 5),
]

# (number, plan id, status, created_at, canceled_at). Week k of the trend holds the seconds
# TREND_START + k*WEEK ... TREND_START + (k+1)*WEEK - 1; WINDOW_START falls in week 7
# (WINDOW_START - TREND_START = 54 days), NOW in week 11.
SUBSCRIPTIONS = [
    (1, "daily", "active", OLD, None),
    (2, "daily", "active", OLD, None),
    (3, "daily", "trialing", OLD, None),
    (4, "weekly", "active", WINDOW_START, None),  # new: exactly at the window start (week 7)
    (5, "weekly", "past_due", WINDOW_START - 1, None),  # not new: one second before (week 7)
    (6, "monthly", "active", OLD, None),
    (7, "monthly", "active", OLD, None),
    (8, "monthly", "active", OLD, None),
    (9, "monthly", "paused", OLD, None),
    (10, "monthly", "canceled", OLD, WINDOW_START),  # canceled in the window (week 7)
    (11, "monthly", "canceled", OLD, WINDOW_START - 1),  # canceled before it (week 7)
    (12, "yearly", "active", OLD, None),
    (13, "yearly", "active", OLD, None),
    (14, "yearly", "trialing", NOW, None),  # new, this very second (week 11)
    (15, "usd_monthly", "active", OLD, None),
    (
        16,
        "usd_monthly",
        "canceled",
        NOW - 10 * DAY,
        NOW - 2 * DAY,
    ),  # new (week 10), canceled (week 11)
    (17, "usd_yearly", "active", OLD, None),
    (18, "usd_yearly", "past_due", OLD, None),
    # The trend's own edges, on the weekly plan (none of them active: MRR is untouched).
    (19, "weekly", "paused", TREND_START - 1, None),  # before week 0: in no week
    (20, "weekly", "paused", TREND_START, None),  # first second of week 0
    (21, "weekly", "past_due", TREND_START + 4 * WEEK - 1, None),  # last second of week 3
    (22, "weekly", "past_due", TREND_START + 4 * WEEK, None),  # first second of week 4
    (23, "weekly", "canceled", OLD, TREND_START + 2 * WEEK - 1),  # canceled: last second of week 1
    (24, "weekly", "canceled", OLD, TREND_START + 2 * WEEK),  # canceled: first second of week 2
    (25, "weekly", "canceled", OLD, TREND_START - 1),  # canceled before week 0: in no week
]


def add_known_data() -> None:
    """The plans and subscriptions above, committed."""
    for plan_id, name, currency, interval, price, order in PLANS:
        add_plan(
            plan_id,
            name=name,
            currency=currency,
            interval=interval,
            price=Decimal(price),
            display_order=order,
        )
    for _, plan_id, status, created_at, canceled_at in SUBSCRIPTIONS:
        add_subscription(plan_id, status, created_at=created_at, canceled_at=canceled_at)
    db.session.commit()


def bulk_subscriptions(rows: list[tuple[str, str, int, int | None]]) -> None:
    """(plan id, status, created_at, canceled_at) rows, each with its own user, by two Core
    inserts; committed."""
    users, subscriptions = [], []
    for plan_id, status, created_at, canceled_at in rows:
        user_id = str(uuid.uuid4())
        users.append(
            {
                "id": user_id,
                "email": f"{uuid.uuid4().hex[:12]}@example.com",
                "name": "Bulk User",
                "role": "user",
                "created_at": created_at,
                "session_token": uuid.uuid4().hex,
            }
        )
        subscriptions.append(
            {
                "id": str(uuid.uuid4()),
                "user_id": user_id,
                "plan_id": plan_id,
                "status": status,
                "current_period_start": created_at,
                "current_period_end": created_at + 30 * DAY,
                "cancel_at_period_end": False,
                "canceled_at": canceled_at,
                "created_at": created_at,
                "updated_at": canceled_at or created_at,
            }
        )
    db.session.execute(sa.insert(User.__table__), users)
    db.session.execute(sa.insert(Subscription.__table__), subscriptions)
    db.session.commit()


# --- Reading the page ------------------------------------------------------------------------


def normalised(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Table:
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    css_class: str = ""


class Page(HTMLParser):
    """What the tests read from a page: the key figures (one entry per article of the figures
    section: its header, its ``p.figure`` texts, its note), and every table (head and rows, each
    cell's text)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.figures: dict[str, dict] = {}
        self.tables: list[Table] = []
        self._stack: list[tuple[str, dict]] = []
        self._article: dict | None = None
        self._capture: list[str] | None = None
        self._capture_into: tuple | None = None
        self.feed(html)

    VOID = frozenset({"br", "col", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def _inside(self, tag: str, **attrs) -> bool:
        return any(
            t == tag and all(a.get(k) == v for k, v in attrs.items()) for t, a in self._stack
        )

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        in_figures = self._inside("section", **{"aria-label": "Key figures"})
        if tag == "article" and in_figures:
            self._article = {"header": "", "figures": [], "note": ""}
        elif self._article is not None and tag in ("header", "small", "p"):
            is_figure = "figure" in (attrs.get("class") or "").split()
            if tag != "p" or is_figure:
                self._capture, self._capture_into = [], ("article", tag)
        if tag == "table":
            self.tables.append(Table(css_class=attrs.get("class") or ""))
        elif tag == "tr" and self.tables:
            rows = self.tables[-1].rows if self._inside("tbody") else None
            if rows is not None:
                rows.append([])
        elif tag in ("th", "td") and self.tables:
            self._capture, self._capture_into = [], ("cell", self._inside("thead"))
        if tag not in self.VOID:
            self._stack.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        while self._stack and self._stack.pop()[0] != tag:
            pass
        if self._capture is not None and tag in ("header", "p", "small", "th", "td"):
            text = normalised("".join(self._capture))
            kind, where = self._capture_into
            if kind == "article":
                if where == "header":
                    self._article["header"] = text
                elif where == "p":
                    self._article["figures"].append(text)
                else:
                    self._article["note"] = text
            elif where:  # a head cell
                self.tables[-1].head.append(text)
            else:
                self.tables[-1].rows[-1].append(text)
            self._capture = None
        if tag == "article" and self._article is not None:
            self.figures[self._article["header"]] = self._article
            self._article = None

    def handle_data(self, data):
        if self._capture is not None:
            self._capture.append(data)

    @property
    def text(self) -> str:
        return normalised(re.sub(r"<[^>]+>", " ", self.html))

    def figure_blocks(self) -> dict[str, str]:
        """Each chart's <figure> markup, by the figure's id, in page order."""
        return dict(
            re.findall(r'<figure class="chart" id="([^"]+)">(.*?)</figure>', self.html, re.S)
        )

    def chart(self, chart_id: str) -> "ChartMarkup":
        return ChartMarkup(chart_id, self.figure_blocks()[chart_id])


def svg_elements(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, re.S)


class ChartMarkup:
    """One rendered chart: its SVG parsed as XML, and the numbers table under it."""

    def __init__(self, chart_id: str, html: str):
        self.id = chart_id
        svgs = svg_elements(html)
        assert len(svgs) == 1, f"{chart_id}: {len(svgs)} <svg> elements"
        self.svg = ET.fromstring(svgs[0])
        tables = Page(html).tables
        assert len(tables) == 1, f"{chart_id}: {len(tables)} tables"
        self.table = tables[0]

    def _group(self, css_class: str) -> ET.Element:
        (group,) = [g for g in self.svg.iter(f"{SVG}g") if g.get("class") == css_class]
        return group

    @property
    def title(self) -> str:
        return self.svg.find(f"{SVG}title").text

    @property
    def description(self) -> str:
        return self.svg.find(f"{SVG}desc").text

    @property
    def axis_labels(self) -> list[str]:
        return [t.text for t in self.svg.iter(f"{SVG}text") if t.get("class") == "chart-axis-label"]

    @property
    def y_ticks(self) -> list[tuple[float, str]]:
        """(y of the gridline, its label), bottom first."""
        grid = self._group("chart-grid")
        lines = [float(line.get("y1")) for line in grid.iter(f"{SVG}line")]
        labels = [text.text for text in grid.iter(f"{SVG}text")]
        assert len(lines) == len(labels)
        return list(zip(lines, labels, strict=True))

    @property
    def x_labels(self) -> list[str]:
        """The category labels under the plot, left to right."""
        return [t.text for t in self.svg.findall(f"{SVG}text") if t.get("class") == "chart-tick"]

    @property
    def bars(self) -> list[dict]:
        """Every bar: its series (from the CSS class), its label (its <title>) and geometry."""
        result = []
        for rect in self._group("chart-bars").iter(f"{SVG}rect"):
            css = rect.get("class")
            assert css.startswith("chart-series-"), css
            result.append(
                {
                    "series": css.removeprefix("chart-series-"),
                    "label": rect.find(f"{SVG}title").text,
                    **{k: float(rect.get(k)) for k in ("x", "y", "width", "height")},
                }
            )
        return result

    def bar(self, label: str) -> dict:
        (found,) = [bar for bar in self.bars if bar["label"] == label]
        return found

    def scale(self) -> tuple[float, float]:
        """(y of zero, pixels per unit), read from the y axis: its "0" gridline and its top
        gridline with that gridline's label."""
        ticks = self.y_ticks
        zero = [y for y, label in ticks if label == "0"]
        assert zero, ticks
        top_y, top_label = min(ticks)
        return zero[0], (zero[0] - top_y) / axis_value(top_label)


def axis_value(label: str) -> float:
    """A tick label's number: "750" → 750, "2.5K" → 2500, "1.5M" → 1500000."""
    match = re.fullmatch(r"(-?[0-9.]+)([KMB]?)", label)
    assert match, label
    return float(match.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "B": 1e9}[match.group(2)]
