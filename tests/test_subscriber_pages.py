"""A plan's subscribers in the browser: the paginated table, its links, filters, and CSV."""

import contextvars
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from billing_admin.extensions import db
from billing_admin.models import SUBSCRIPTION_STATUSES, Subscription, User
from tests.helpers import QueryCounter, add_plan, add_subscription, read_csv
from tests.subscriber_data import T0, Made, add_subscriber, bulk_subscribers, newest_first

DAY = 86_400
NOW = 1_800_000_000  # 2027-01-15 08:00 UTC
CSV_HEADER = [
    "user_id",
    "email",
    "name",
    "subscription_status",
    "subscribed_at",
    "current_period_end",
    "cancel_at_period_end",
]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Parsed(HTMLParser):
    """What the tests read from a subscriber page: the table's rows (each cell's text), the
    pager's items in order, and every link under the pager and the page-size choice."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.stack: list[tuple[str, dict]] = []
        self.rows: list[list[str]] = []
        self.pager_items: list[dict] = []
        self.paging_links: list[str] = []
        self.links: list[tuple[str, str]] = []  # (text, href) of every link on the page
        self._cell: list[str] | None = None
        self._link: list | None = None
        self.feed(html)

    def _inside(self, tag: str, css_class: str | None = None) -> bool:
        return any(
            t == tag and (css_class is None or css_class in (a.get("class") or "").split())
            for t, a in self.stack
        )

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and self._inside("tbody"):
            self.rows.append([])
        if tag == "td" and self._inside("tbody"):
            self._cell = []
        if tag == "li" and self._inside("nav", "pager"):
            self.pager_items.append({"text": "", "href": None, "current": False})
        if tag == "a":
            self._link = [attrs.get("href"), []]
            if self._inside("nav", "pager") or self._inside("p", "page-sizes"):
                self.paging_links.append(attrs["href"])
            if self._inside("li") and self._inside("nav", "pager"):
                self.pager_items[-1]["href"] = attrs["href"]
                self.pager_items[-1]["current"] = attrs.get("aria-current") == "page"
        if tag not in VOID:
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack:
            top, _ = self.stack.pop()
            if top == tag:
                break
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "a" and self._link is not None:
            self.links.append((" ".join("".join(self._link[1]).split()), self._link[0]))
            self._link = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._link is not None:
            self._link[1].append(data)
        if self._inside("li") and self._inside("nav", "pager"):
            self.pager_items[-1]["text"] += data.strip()

    @property
    def text(self) -> str:
        stripped = HTMLParser()
        parts: list[str] = []
        stripped.handle_data = parts.append  # type: ignore[method-assign]
        stripped.feed(self.html)
        return " ".join(" ".join(parts).split())


@pytest.fixture
def pinned_client(set_clock, client, admin, auth):
    """An admin's client with the app's clock pinned to NOW before signing in."""
    set_clock(NOW)
    assert auth.login().status_code == 302
    return client


def page_of(client, plan_id="pro", **params) -> Parsed:
    response = client.get(f"/admin/plans/{plan_id}/subscribers", query_string=params)
    assert response.status_code == 200, response.status_code
    return Parsed(response.get_data(as_text=True))


def query_of(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query, keep_blank_values=True).items()}


def walk_html(client, plan_id="pro", **params) -> list[list[str]]:
    """The rows of every page, first to last."""
    first = page_of(client, plan_id, page=1, **params)
    rows = list(first.rows)
    number = 2
    while True:
        page = page_of(client, plan_id, page=number, **params)
        if not page.rows:
            return rows
        rows += page.rows
        number += 1


def day(epoch: int) -> str:
    """A date as the English pages write it: "Nov 21, 2026"."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%b %-d, %Y")


# --- The table -------------------------------------------------------------------------------


def test_the_table_shows_each_subscribers_columns(pinned_client):
    admin_client = pinned_client
    add_plan("pro")
    add_subscriber(
        "pro",
        email="anna@example.com",
        name="Anna Ivanova",
        status="past_due",
        created_at=NOW - 40 * DAY,
        current_period_end=NOW + 12 * DAY,
        cancel_at_period_end=True,
    )
    add_subscriber(
        "pro",
        email="boris@example.com",
        name="Boris Petrov",
        status="canceled",
        created_at=NOW - 400 * DAY,
        current_period_end=NOW - 3 * DAY,
    )
    page = page_of(admin_client)
    assert page.rows == [
        [
            "Anna Ivanova",
            "anna@example.com",
            "past due",
            day(NOW - 40 * DAY),
            f"{day(NOW + 12 * DAY)} in 12 days",
            "Yes",
        ],
        [
            "Boris Petrov",
            "boris@example.com",
            "canceled",
            day(NOW - 400 * DAY),
            f"{day(NOW - 3 * DAY)} ended 3 days ago",
            "No",
        ],
    ]
    assert '<span class="badge badge-past_due">past due</span>' in page.html
    assert '<span class="badge badge-canceled">canceled</span>' in page.html
    for heading in ("Name", "Email", "Status", "Subscribed", "Current period ends"):
        assert f'<th scope="col">{heading}</th>' in page.html
    assert '<th scope="col">Cancels at period end</th>' in page.html


@pytest.mark.parametrize(
    ("period_end", "text"),
    [
        (NOW + 3 * 3600, "in 3 hours"),
        (NOW + 9 * DAY, "in 9 days"),
        (NOW + 12 * DAY, "in 12 days"),  # the example: days, not "2 weeks"
        (NOW - 3 * DAY, "ended 3 days ago"),
        (NOW - 90 * DAY, "ended 3 months ago"),
    ],
)
def test_the_period_end_reads_relative_to_now(pinned_client, period_end, text):
    add_plan("pro")
    add_subscriber("pro", current_period_end=period_end)
    assert page_of(pinned_client).rows[0][4] == f"{day(period_end)} {text}"


@pytest.mark.parametrize("status", SUBSCRIPTION_STATUSES)
def test_every_status_has_its_badge(admin_client, status):
    add_plan("pro")
    add_subscriber("pro", status=status)
    html = page_of(admin_client).html
    assert f'<span class="badge badge-{status}">{status.replace("_", " ")}</span>' in html


def test_a_subscriber_without_a_name_shows_a_dash(admin_client):
    add_plan("pro")
    add_subscriber("pro", name="", email="noname@example.com")
    assert page_of(admin_client).rows[0][:2] == ["—", "noname@example.com"]


def test_user_text_is_escaped(admin_client):
    add_plan("pro")
    add_subscriber("pro", name="<script>alert(1)</script>")
    html = page_of(admin_client).html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Paging ----------------------------------------------------------------------------------


@pytest.fixture
def pro_1234(app) -> list[Made]:
    add_plan("pro")
    statuses = ("active", "canceled", "trialing", "active")
    made = bulk_subscribers(
        "pro", 1234, created_at=range(T0, T0 + 617), statuses=statuses, name="Smith"
    )
    return newest_first(made)


def test_the_summary_says_which_rows_are_shown(admin_client, pro_1234):
    page = page_of(admin_client, page=3)
    assert "Showing 41–60 of 1,234" in page.text
    assert [row[1] for row in page.rows] == [m.email for m in pro_1234[40:60]]


def test_the_last_page_summary(admin_client, pro_1234):
    assert "Showing 1,221–1,234 of 1,234" in page_of(admin_client, page=62).text


def test_page_links_are_first_previous_a_window_with_gaps_next_and_last(admin_client, pro_1234):
    page = page_of(admin_client, page=10)
    items = [
        (item["text"], item["href"] and query_of(item["href"])["page"]) for item in page.pager_items
    ]
    assert items == [
        ("« First", "1"),
        ("‹ Previous", "9"),
        ("1", "1"),
        ("…", None),
        ("8", "8"),
        ("9", "9"),
        ("10", "10"),
        ("11", "11"),
        ("12", "12"),
        ("…", None),
        ("62", "62"),
        ("Next ›", "11"),
        ("Last »", "62"),
    ]
    [current] = [item for item in page.pager_items if item["current"]]
    assert current["text"] == "10"


def test_the_first_page_has_no_previous_and_the_last_no_next(admin_client, pro_1234):
    first = page_of(admin_client, page=1)
    texts = [(item["text"], item["href"] is not None) for item in first.pager_items]
    assert texts[:2] == [("« First", False), ("‹ Previous", False)]
    assert texts[-2:] == [("Next ›", True), ("Last »", True)]
    last = page_of(admin_client, page=62)
    texts = [(item["text"], item["href"] is not None) for item in last.pager_items]
    assert texts[:2] == [("« First", True), ("‹ Previous", True)]
    assert texts[-2:] == [("Next ›", False), ("Last »", False)]


def test_a_single_page_has_no_page_links(admin_client):
    add_plan("pro")
    bulk_subscribers("pro", 5)
    page = page_of(admin_client)
    assert page.pager_items == []
    assert "Showing 1–5 of 5" in page.text


@pytest.mark.parametrize(("size", "rows"), [(20, 20), (50, 50), (100, 100)])
def test_the_page_size_choice(admin_client, pro_1234, size, rows):
    page = page_of(admin_client, page_size=size)
    assert len(page.rows) == rows
    assert f"Showing 1–{rows} of 1,234" in page.text
    assert f'<strong aria-current="true">{size}</strong>' in page.html
    sizes = [query_of(href) for href in page.paging_links if "page_size" in href]
    offered = {q["page_size"] for q in sizes if q["page"] == "1"}
    assert offered >= {str(s) for s in (20, 50, 100) if s != size}


def test_page_size_links_start_again_at_page_one(admin_client, pro_1234):
    page = page_of(admin_client, page=7, page_size=20)
    size_links = [(text, query_of(href)) for text, href in page.links if text in ("50", "100")]
    assert {text: q["page"] for text, q in size_links} == {"50": "1", "100": "1"}
    assert {text: q["page_size"] for text, q in size_links} == {"50": "50", "100": "100"}


def test_a_page_size_over_100_shows_100(admin_client, pro_1234):
    assert len(page_of(admin_client, page_size=1000).rows) == 100


def test_the_table_runs_the_same_number_of_statements_on_any_page(admin_client, pro_1234):
    counts = set()
    for size, page in ((20, 1), (20, 31), (20, 62), (100, 1), (100, 13), (50, 20)):
        with QueryCounter(db.engine) as counter:
            assert page_of(admin_client, page=page, page_size=size).rows
        counts.add(counter.count)
    assert len(counts) == 1, counts


# --- Filters ---------------------------------------------------------------------------------


@pytest.fixture
def people(app) -> dict[str, Made]:
    add_plan("pro")
    add_plan("other")
    add_subscriber("other", email="maria.other@example.com", name="Maria Smith")
    made = {
        "maria": add_subscriber(
            "pro", email="msmith@example.com", name="Maria Smith", created_at=T0 + 6
        ),
        "ivan": add_subscriber(
            "pro", email="ivan@corp.example", name="Ivan Petrov", created_at=T0 + 5
        ),
        "percent": add_subscriber(
            "pro", email="club@example.com", name="100% Club", created_at=T0 + 4
        ),
        "digits": add_subscriber(
            "pro", email="digits@example.com", name="1000 Club", created_at=T0 + 3
        ),
        "underscore": add_subscriber(
            "pro", email="a_b@example.com", name="Underscore", status="canceled", created_at=T0 + 2
        ),
        "plain": add_subscriber(
            "pro", email="axb@example.com", name="Plain", status="canceled", created_at=T0 + 1
        ),
    }
    return made


def emails(page: Parsed) -> list[str]:
    return [row[1] for row in page.rows]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("smith", ["msmith@example.com"]),  # name and email
        ("SMITH", ["msmith@example.com"]),  # case does not matter
        ("mArIa", ["msmith@example.com"]),  # name only
        ("CORP", ["ivan@corp.example"]),  # email only
        ("petrov", ["ivan@corp.example"]),
        ("  petrov  ", ["ivan@corp.example"]),  # surrounding spaces are ignored
        ("club", ["club@example.com", "digits@example.com"]),
        ("00%", ["club@example.com"]),  # % is a character, not a wildcard
        ("0% c", ["club@example.com"]),
        ("a_b", ["a_b@example.com"]),  # _ is a character, not a wildcard
        # 1-2 characters: the email or the name starts with them (issue 13)
        ("a_", ["a_b@example.com"]),
        ("%", []),
        ("MS", ["msmith@example.com"]),
        ("mi", []),
        ("nobody", []),
    ],
)
def test_search_on_email_or_name(admin_client, people, q, expected):
    assert emails(page_of(admin_client, q=q)) == expected


def test_search_ignores_case_in_cyrillic(admin_client):
    # SQLite's own LOWER() folds ASCII letters only; PostgreSQL's folds every alphabet.
    add_plan("pro")
    add_subscriber("pro", email="ivan@example.ru", name="Иван Петров")
    assert emails(page_of(admin_client, q="иван")) == ["ivan@example.ru"]
    assert emails(page_of(admin_client, q="ПЕТРОВ")) == ["ivan@example.ru"]


@pytest.mark.parametrize("status", SUBSCRIPTION_STATUSES)
def test_the_status_filter(admin_client, app, status):
    add_plan("pro")
    made = bulk_subscribers("pro", 25, statuses=SUBSCRIPTION_STATUSES, created_at=[T0, T0 + 1])
    page = page_of(admin_client, status=status)
    expected = [m.email for m in newest_first(made) if m.status == status]
    assert emails(page) == expected
    assert "Showing 1–5 of 5" in page.text
    assert f'<option value="{status}" selected>' in page.html


def test_status_and_search_together(admin_client, people):
    assert emails(page_of(admin_client, status="canceled", q="a")) == [
        "a_b@example.com",
        "axb@example.com",
    ]
    assert emails(page_of(admin_client, status="active", q="_")) == []


def test_an_unknown_status_shows_every_status(admin_client, people):
    page = page_of(admin_client, status="bogus")
    assert len(page.rows) == 6
    assert " selected>" not in page.html.split('id="status"')[1].split("</select>")[0]


@pytest.fixture
def filtered(app) -> list[Made]:
    add_plan("pro")
    bulk_subscribers("pro", 40, statuses=("active",), name="Jones")
    bulk_subscribers("pro", 40, statuses=("canceled",), name="Smith")
    smiths = bulk_subscribers(
        "pro", 130, statuses=("active",), name="Smith", created_at=range(T0, T0 + 65)
    )
    return newest_first(smiths)


@pytest.mark.parametrize(
    ("page_number", "page_size"), [(4, 20), (1, 20), (7, 20), (2, 50), (9, 20)]
)
def test_filters_and_page_size_survive_every_page_link(
    admin_client, filtered, page_number, page_size
):
    page = page_of(admin_client, status="active", q="smith", page=page_number, page_size=page_size)
    assert page.paging_links, "no page links to check"
    for href in page.paging_links:
        query = query_of(href)
        assert urlsplit(href).path == "/admin/plans/pro/subscribers"
        assert query["status"] == "active", href
        assert query["q"] == "smith", href
        assert query["page_size"] in {"20", "50", "100"}, href
    pager_sizes = {query_of(item["href"])["page_size"] for item in page.pager_items if item["href"]}
    assert pager_sizes <= {str(page_size)}


def test_following_the_next_link_keeps_the_filtered_list(admin_client, filtered):
    first = page_of(admin_client, status="active", q="smith", page_size=50)
    [next_href] = [item["href"] for item in first.pager_items if item["text"] == "Next ›"]
    second = admin_client.get(next_href)
    assert second.status_code == 200
    rows = Parsed(second.get_data(as_text=True)).rows
    assert [row[1] for row in rows] == [m.email for m in filtered[50:100]]


def test_the_filter_form_and_csv_link_keep_the_filters(admin_client, filtered):
    page = page_of(admin_client, status="active", q="smith", page_size=50)
    assert '<input type="hidden" name="page_size" value="50">' in page.html
    assert 'name="q" type="search" value="smith"' in page.html
    [csv_href] = [href for text, href in page.links if text == "Download CSV"]
    assert urlsplit(csv_href).path == "/admin/plans/pro/subscribers.csv"
    assert query_of(csv_href) == {"status": "active", "q": "smith"}


def test_the_link_from_a_page_past_the_end_keeps_the_filters(admin_client, filtered):
    page = page_of(admin_client, status="active", q="smith", page=99, page_size=50)
    assert "There is no page 99: the last page is 3." in page.text
    [href] = [href for text, href in page.links if text == "Go to the last page"]
    assert query_of(href) == {"status": "active", "q": "smith", "page_size": "50", "page": "3"}


# --- Empty, unknown and nonsense -------------------------------------------------------------


def test_an_empty_plan_shows_an_empty_state_not_a_table(admin_client):
    add_plan("pro")
    page = page_of(admin_client)
    assert "<table" not in page.html
    assert "Pro has no subscribers yet." in page.text
    assert "Nothing to show" in page.text


def test_no_match_shows_an_empty_state_with_a_way_back(admin_client, people):
    page = page_of(admin_client, q="nobody")
    assert "<table" not in page.html
    assert "No subscribers match these filters." in page.text
    assert ("Show all subscribers", "/admin/plans/pro/subscribers") in page.links


def test_an_unknown_plan_is_a_404_page(admin_client):
    add_plan("pro")
    response = admin_client.get("/admin/plans/nope/subscribers")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<h1>404 Not Found</h1>" in html
    assert "Plan &#39;nope&#39; not found" in html


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "-5"},
        {"page": "0"},
        {"page": "1.5"},
        {"page": ""},
        {"page": "9" * 40},
        {"page": "٣"},
        {"page": "1e3"},
        {"page_size": "abc"},
        {"page_size": "-1"},
        {"page_size": "0"},
        {"page_size": "9" * 40},
        {"page_size": "1.5"},
        {"page": "1000000000", "page_size": "100"},
        {"status": "bogus", "q": "x" * 500},
    ],
)
def test_nonsense_values_answer_200(admin_client, pro_1234, params):
    response = admin_client.get("/admin/plans/pro/subscribers", query_string=params)
    assert response.status_code == 200


def test_a_page_past_the_end_says_so(admin_client, pro_1234):
    page = page_of(admin_client, page=63)
    assert "<table" not in page.html
    assert "There is no page 63: the last page is 62." in page.text


def test_the_page_needs_a_signed_in_admin(client, admin):
    add_plan("pro")
    response = client.get("/admin/plans/pro/subscribers")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# --- Every subscriber exactly once -----------------------------------------------------------


@pytest.mark.parametrize("page_size", [7, 20, 50])
def test_walking_every_html_page_shows_every_subscriber_once(admin_client, page_size):
    add_plan("pro")
    made = []
    for created_at in [T0] * 30 + [T0 + 1] * 8 + [T0 - 1] * 7:
        add_subscription("pro", created_at=created_at)
    db.session.commit()
    for subscription, user in db.session.execute(
        sa.select(Subscription, User).join(User, User.id == Subscription.user_id)
    ):
        made.append((subscription.created_at, subscription.id, user.email))
    expected = [email for _, _, email in sorted(made, reverse=True)]
    shown = [row[1] for row in walk_html(admin_client, page_size=page_size)]
    assert shown == expected
    assert len(set(shown)) == 45


# --- CSV -------------------------------------------------------------------------------------


def csv_of(client, plan_id="pro", **params):
    # buffered: the body is read inside the request's own context (see test_the_csv_is_streamed).
    response = client.get(
        f"/admin/plans/{plan_id}/subscribers.csv", query_string=params, buffered=True
    )
    assert response.status_code == 200
    return response, read_csv(response.get_data())


def test_the_csv_file_name_names_the_plan_and_today(pinned_client):
    add_plan("pro")
    response, _ = csv_of(pinned_client)
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="pro-subscribers-2027-01-15.csv"'
    )


def test_the_csv_has_a_header_row_and_one_row_per_subscriber(admin_client):
    add_plan("pro")
    made = add_subscriber(
        "pro",
        email="anna@example.com",
        name="Anna Ivanova",
        status="past_due",
        created_at=1_760_000_000,
        current_period_end=1_761_000_000,
        cancel_at_period_end=True,
    )
    response, rows = csv_of(admin_client)
    assert response.get_data().decode("utf-8").splitlines()[0] == "\ufeff" + ",".join(
        f'"{name}"' for name in CSV_HEADER
    )
    assert rows == [
        CSV_HEADER,
        [
            made.user_id,
            "anna@example.com",
            "Anna Ivanova",
            "past_due",
            "2025-10-09T08:53:20+00:00",
            "2025-10-20T22:40:00+00:00",
            "true",
        ],
    ]


def test_the_csv_of_an_empty_plan_is_the_header_alone(admin_client):
    add_plan("pro")
    _, rows = csv_of(admin_client)
    assert rows == [CSV_HEADER]


def test_the_csv_is_streamed(admin_client):
    add_plan("pro")
    made = newest_first(bulk_subscribers("pro", 10))
    # Send the request and read its body in one context, as a server does; the isolated
    # client would read a streamed body outside the context its request ran in.
    context = contextvars.Context()
    response = context.run(
        FlaskClient.open, admin_client, "/admin/plans/pro/subscribers.csv", method="GET"
    )
    assert response.status_code == 200
    assert response.is_streamed
    assert "Content-Length" not in response.headers
    chunks = context.run(lambda: list(response.iter_encoded()))
    context.run(response.close)
    assert len(chunks) > 1  # sent piece by piece, not built whole
    rows = read_csv(b"".join(chunks))
    assert rows == [CSV_HEADER, *(csv_row(m) for m in made)]


@pytest.fixture
def pro_2345(app) -> list[Made]:
    """More rows than one export batch (1,000), with ties across the batch boundaries."""
    add_plan("pro")
    add_plan("other")
    bulk_subscribers("other", 30)
    made = bulk_subscribers(
        "pro",
        2345,
        created_at=[T0, T0, T0, T0 + 1, T0 - 1],
        statuses=("active", "canceled", "active", "paused"),
        name="Smith",
    )
    return newest_first(made)


def csv_row(m: Made) -> list[str]:
    return [
        m.user_id,
        m.email,
        m.name,
        m.status,
        iso(m.created_at),
        iso(m.current_period_end),
        "true" if m.cancel_at_period_end else "false",
    ]


def iso(epoch: int) -> str:
    """A time as the CSV writes it in the default zone (UTC): ISO 8601 with its offset."""
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def html_row(csv_line: list[str]) -> list[str]:
    """The table row the HTML shows for a CSV row, cell by cell (less the relative time)."""
    _, email, name, status, subscribed, period_end, cancels = csv_line
    return [
        name,
        email,
        status.replace("_", " "),
        day(int(datetime.fromisoformat(subscribed).timestamp())),
        day(int(datetime.fromisoformat(period_end).timestamp())),
        "Yes" if cancels == "true" else "No",
    ]


@pytest.mark.parametrize(
    "params",
    [{}, {"status": "active"}, {"status": "paused", "q": "smith 1"}, {"q": "SMITH 23"}],
)
def test_csv_rows_equal_the_tables_rows_for_the_same_filter(admin_client, pro_2345, params):
    _, rows = csv_of(admin_client, **params)
    table = walk_html(admin_client, page_size=100, **params)
    assert len(rows) - 1 == len(table) > 0
    shown = [[*cells[:4], " ".join(cells[4].split()[:3]), cells[5]] for cells in table]
    assert [html_row(line) for line in rows[1:]] == shown


def test_csv_rows_are_every_subscriber_newest_first_once(admin_client, pro_2345):
    _, rows = csv_of(admin_client)
    assert rows[1:] == [csv_row(m) for m in pro_2345]
    _, rows = csv_of(admin_client, status="active")
    assert rows[1:] == [csv_row(m) for m in pro_2345 if m.status == "active"]


def test_the_csv_keeps_the_search_and_ignores_an_unknown_status(admin_client, people):
    _, rows = csv_of(admin_client, q="CLUB")
    assert [row[1] for row in rows[1:]] == ["club@example.com", "digits@example.com"]
    _, rows = csv_of(admin_client, q="a_", status="canceled")
    assert [row[1] for row in rows[1:]] == ["a_b@example.com"]
    _, rows = csv_of(admin_client, status="bogus")
    assert len(rows) == 1 + 6


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("=1+2", "'=1+2"),
        ("+7 495", "'+7 495"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("a=b", "a=b"),
        ("Anna", "Anna"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_prefixed(admin_client, name, cell):
    add_plan("pro")
    add_subscriber("pro", name=name)
    _, rows = csv_of(admin_client)
    assert rows[1][2] == cell


def test_the_csv_of_an_unknown_plan_is_a_404(admin_client):
    response = admin_client.get("/admin/plans/nope/subscribers.csv")
    assert response.status_code == 404


def test_the_csv_needs_a_signed_in_admin(client, admin):
    add_plan("pro")
    response = client.get("/admin/plans/pro/subscribers.csv")
    assert response.status_code == 302
