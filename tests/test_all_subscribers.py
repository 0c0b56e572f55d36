"""/admin/subscribers (issue 13): every plan's subscribers with search, plan and status filters,
sorting both ways, page links that keep everything, the CSV of the same rows, the "more than"
and "not counted" totals, the navigation's search box on every page, defined answers to nonsense, and viewers."""

import re
from html import unescape

import pytest

from billing_admin.extensions import db
from billing_admin.models import Subscription
from tests.helpers import add_plan, read_csv
from tests.subscriber_data import T0, add_subscriber
from tests.test_subscriber_pages import Parsed, query_of


@pytest.fixture
def people(app):
    add_plan("pro")
    add_plan("free", name="Free")
    return {
        "yolkin": add_subscriber(
            "pro",
            email="elkin@example.ru",
            name="Ёлкин Пётр",
            created_at=T0 + 3,
            current_period_end=T0 + 100,
        ),
        "anna": add_subscriber(
            "free",
            email="Anna@Example.com",
            name="Anna Smith",
            status="canceled",
            created_at=T0 + 2,
            current_period_end=T0 + 300,
        ),
        "joann": add_subscriber(
            "pro",
            email="joann@example.com",
            name="Jo Ann",
            status="paused",
            created_at=T0 + 1,
            current_period_end=T0 + 200,
        ),
    }


def page_of(client, **params) -> Parsed:
    response = client.get("/admin/subscribers", query_string=params)
    assert response.status_code == 200, response.status_code
    return Parsed(response.get_data(as_text=True))


def emails(page: Parsed) -> list[str]:
    return [row[1] for row in page.rows]


def test_every_plan_newest_first_with_the_plan_linked(admin_client, people):
    page = page_of(admin_client)
    assert emails(page) == ["elkin@example.ru", "Anna@Example.com", "joann@example.com"]
    assert [row[2] for row in page.rows] == ["Pro", "Free", "Pro"]
    assert ("Free", "/admin/plans/free") in page.links


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "елкин"}, ["elkin@example.ru"]),
        ({"q": "ANN"}, ["Anna@Example.com", "joann@example.com"]),
        ({"q": "anna@example.com"}, ["Anna@Example.com"]),  # an exact email
        ({"q": "an"}, ["Anna@Example.com"]),  # short: a prefix
        ({"plan": "pro"}, ["elkin@example.ru", "joann@example.com"]),
        ({"plan": "pro", "status": "paused"}, ["joann@example.com"]),
        ({"plan": "pro", "q": "ann"}, ["joann@example.com"]),
        (
            {"sort": "subscribed", "direction": "asc"},
            ["joann@example.com", "Anna@Example.com", "elkin@example.ru"],
        ),
        ({"sort": "period_end"}, ["Anna@Example.com", "joann@example.com", "elkin@example.ru"]),
        (
            {"sort": "period_end", "direction": "asc"},
            ["elkin@example.ru", "joann@example.com", "Anna@Example.com"],
        ),
        # Nonsense gets the defaults, as page and status do on a plan's table
        (
            {"plan": "nope", "status": "bogus", "sort": "x", "direction": "up", "page": "abc"},
            ["elkin@example.ru", "Anna@Example.com", "joann@example.com"],
        ),
    ],
)
def test_search_filters_and_sorting(admin_client, people, params, expected):
    assert emails(page_of(admin_client, **params)) == expected


def test_page_links_keep_search_filters_sort_and_page_size(admin_client, people):
    for number in range(30):
        add_subscriber(
            "pro", email=f"many{number}@example.com", name="Many", created_at=T0 + 10 + number
        )
    params = {
        "q": "many",
        "plan": "pro",
        "status": "active",
        "sort": "period_end",
        "direction": "asc",
        "page_size": "20",
    }
    page = page_of(admin_client, **params)
    assert len(page.rows) == 20 and page.paging_links
    for href in page.paging_links:
        kept = query_of(href)
        assert {k: kept[k] for k in params if k in kept} == {
            k: v for k, v in params.items() if k != "page_size"
        } | ({"page_size": kept["page_size"]})
    second = page_of(admin_client, **params, page=2)
    assert len(second.rows) == 10
    assert not set(emails(second)) & set(emails(page))
    csv_link = re.search(r'href="(/admin/subscribers\.csv[^"]*)"', page.html).group(1)
    assert query_of(unescape(csv_link)) == {k: v for k, v in params.items() if k != "page_size"}


def test_the_csv_has_the_same_rows_with_their_plan(admin_client, people):
    response = admin_client.get(
        "/admin/subscribers.csv", query_string={"q": "ann", "sort": "period_end"}, buffered=True
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = read_csv(response.get_data())
    assert rows[0][-1] == "plan_id" and rows[0][-2] == "cancel_at_period_end"
    assert [(row[1], row[-1]) for row in rows[1:]] == [
        ("Anna@Example.com", "free"),
        ("joann@example.com", "pro"),
    ]
    assert re.match(
        r'attachment; filename="subscribers-\d{4}-\d{2}-\d{2}\.csv"',
        response.headers["Content-Disposition"],
    )


def test_the_plan_table_sorts_too_and_its_csv_follows(admin_client, people):
    html = admin_client.get("/admin/plans/pro/subscribers?sort=period_end&direction=asc").get_data(
        as_text=True
    )
    assert emails(Parsed(html)) == ["elkin@example.ru", "joann@example.com"]
    assert 'href="/admin/plans/pro/subscribers.csv?sort=period_end&amp;direction=asc"' in html
    body = admin_client.get(
        "/admin/plans/pro/subscribers.csv?sort=period_end&direction=desc", buffered=True
    )
    assert [row[1] for row in read_csv(body.get_data())][1:] == [
        "joann@example.com",
        "elkin@example.ru",
    ]


def test_a_broad_search_is_not_counted_and_says_so(admin_client, people, app):
    """More people match than the cap and the plans hold more subscriptions than it: the
    matches are not counted (issue 13: counting would cost more than the target), the page
    says so without claiming a total, and every page is still reachable."""
    app.config["SEARCH_COUNT_CAP"] = 2
    page = page_of(admin_client, q="example", page_size=1)
    assert "Showing 1–1 (not counted)" in page.html
    assert "More than 2 people match this search" in page.html
    assert "of more than" not in page.html  # no claim about the number of subscriptions
    assert "Last page" not in page.html and "Next page" in page.html
    third = page_of(admin_client, q="example", page_size=1, page=3)  # past the cap
    assert emails(third) == ["joann@example.com"]
    past = page_of(admin_client, q="example", page_size=1, page=4)
    assert emails(past) == [] and "No matches on page 4" in past.html
    assert "Next page" not in past.html
    # A plan holding no more subscriptions than the cap: its matches are counted exactly.
    pro = page_of(admin_client, q="example", plan="pro")
    assert "Showing 1–2 of 2" in pro.html and "not counted" not in pro.html
    assert "not counted" not in page_of(admin_client, q="elkin").html


def test_more_subscriptions_than_the_cap_of_few_people_say_more_than(admin_client, people, app):
    """Few people match but their subscriptions pass the cap: counted up to it, "more than"."""
    db.session.add(
        Subscription(
            user_id=people["joann"].user_id,
            plan_id="free",
            status="active",
            current_period_start=T0,
            current_period_end=T0 + 30 * 86_400,
            created_at=T0 + 4,
        )
    )
    db.session.commit()
    app.config["SEARCH_COUNT_CAP"] = 1
    page = page_of(admin_client, q="joann@example.com")
    assert "Showing 1–2 of more than 1" in page.html
    assert "More than 1 subscribers match" in page.html


def test_the_search_box_is_in_the_navigation_of_every_page(admin_client, people):
    for url in (
        "/admin/",
        "/admin/plans",
        "/admin/audit",
        "/admin/plans/pro/subscribers",
        "/account",
    ):
        html = admin_client.get(url).get_data(as_text=True)
        assert re.search(r'<form method="get" action="/admin/subscribers" role="search"', html), url
    html = admin_client.get("/admin/subscribers?q=%D0%B5%D0%BB%D0%BA%D0%B8%D0%BD").get_data(
        as_text=True
    )
    assert 'value="елкин"' in html


def test_in_russian(admin_client, people):
    html = admin_client.get(
        "/admin/subscribers?sort=period_end", headers={"Accept-Language": "ru"}
    ).get_data(as_text=True)
    assert "Сортировка" in html and "Сначала поздние" in html


def test_viewers_read_the_page_and_the_csv(viewer_client, people):
    assert viewer_client.get("/admin/subscribers?q=ann&plan=pro").status_code == 200
    assert viewer_client.get("/admin/subscribers.csv?q=ann", buffered=True).status_code == 200


def test_anonymous_is_sent_to_sign_in(client, people):
    response = client.get("/admin/subscribers?q=ann")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_empty_database_and_no_match_have_their_own_words(admin_client, app):
    assert "There are no subscribers yet." in admin_client.get("/admin/subscribers").get_data(
        as_text=True
    )
    add_plan("pro")
    html = admin_client.get("/admin/subscribers?q=nobody").get_data(as_text=True)
    assert "No subscribers match these filters." in html
