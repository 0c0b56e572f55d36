"""The plan list's search (name or id) and order, their links, and bad parameters (issue 16)."""

import re
from decimal import Decimal
from html import unescape

import pytest

from billing_admin.extensions import db
from billing_admin.plans import service
from tests.helpers import QueryCounter, add_plan, add_subscriptions


@pytest.fixture
def plans(app):
    """Four plans whose orders all differ: display order, name, price, subscribers, MRR."""
    add_plan("basic", name="Basic", name_ru="Базовый", price=Decimal("490.00"), display_order=2)
    add_plan(
        "pro", name="Pro", name_ru="Профессиональный", price=Decimal("1490.00"), display_order=1
    )
    add_plan(
        "team_annual",
        name="Team (Annual)",
        name_ru="Команда (Годовой)",
        price=Decimal("9900.00"),
        interval="year",
        display_order=3,
    )
    add_plan("archive", name="Archive", price=Decimal("90.00"), display_order=0, is_active=False)
    add_subscriptions("basic", "active", count=3)  # MRR 1,470.00
    add_subscriptions("pro", "active", count=2)  # MRR 2,980.00
    add_subscriptions("pro", "canceled", count=2)
    add_subscriptions("team_annual", "active", count=1)  # MRR 825.00


def plan_ids(html: str) -> list[str]:
    """The plan ids in the table's rows, in order."""
    return re.findall(r"<br><code>([a-z0-9_-]+)</code>", html)


def listing(client, query: str = "", language: str = "en"):
    response = client.get(f"/admin/plans{query}", headers={"Accept-Language": language})
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["archive", "pro", "basic", "team_annual"]),
        ("?sort=order", ["archive", "pro", "basic", "team_annual"]),
        ("?sort=-order", ["team_annual", "basic", "pro", "archive"]),
        ("?sort=name", ["archive", "basic", "pro", "team_annual"]),
        ("?sort=-name", ["team_annual", "pro", "basic", "archive"]),
        ("?sort=id", ["archive", "basic", "pro", "team_annual"]),
        ("?sort=price", ["archive", "basic", "pro", "team_annual"]),
        ("?sort=-price", ["team_annual", "pro", "basic", "archive"]),
        # All subscriptions of every status: pro 4, basic 3, team 1, archive 0.
        ("?sort=-subscribers", ["pro", "basic", "team_annual", "archive"]),
        ("?sort=subscribers", ["archive", "team_annual", "basic", "pro"]),
        ("?sort=-mrr", ["pro", "basic", "team_annual", "archive"]),
        ("?sort=mrr", ["archive", "team_annual", "basic", "pro"]),
    ],
)
def test_the_plan_list_is_sorted_by_the_chosen_order(admin_client, plans, query, expected):
    status, html = listing(admin_client, query)
    assert status == 200
    assert plan_ids(html) == expected


def test_sorting_by_name_in_russian_uses_the_russian_names(admin_client, plans):
    # Archive has no Russian name: its English one sorts among the Cyrillic ones (Latin first).
    status, html = listing(admin_client, "?sort=name", "ru")
    assert status == 200
    assert plan_ids(html) == ["archive", "basic", "team_annual", "pro"]  # Б, К, П


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("pro", ["pro"]),  # the id (and the English name)
        ("PRO", ["pro"]),  # case does not matter
        ("annual", ["team_annual"]),  # part of the id
        ("team (", ["team_annual"]),  # part of the English name
        ("команда", ["team_annual"]),  # the Russian name, another case (SQLite folds only ASCII)
        ("ПРОФ", ["pro"]),
        ("  basic  ", ["basic"]),  # surrounding spaces are not searched for
        ("a", ["archive", "basic", "team_annual"]),
    ],
)
def test_the_search_finds_plans_by_name_or_id(admin_client, plans, q, expected):
    response = admin_client.get("/admin/plans", query_string={"q": q})
    assert response.status_code == 200
    assert plan_ids(response.get_data(as_text=True)) == expected


def test_a_search_that_finds_nothing_says_so(admin_client, plans):
    response = admin_client.get("/admin/plans", query_string={"q": "enterprise"})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert plan_ids(html) == []
    assert "No plans match “enterprise”." in html


def test_search_status_and_order_combine_and_every_link_keeps_them(admin_client, plans):
    status, html = listing(admin_client, "?status=active&q=a&sort=-price")
    assert status == 200
    assert plan_ids(html) == ["team_annual", "basic"]  # archive is inactive
    html = unescape(html)
    # The status links keep the search and the order; the column headings keep the status and
    # search, and the current order's heading reverses it.
    assert 'href="/admin/plans?status=inactive&q=a&sort=-price"' in html
    assert 'href="/admin/plans?status=active&q=a&sort=price"' in html  # Price: reversed
    assert 'href="/admin/plans?status=active&q=a&sort=mrr"' in html
    assert 'aria-sort="descending"' in html
    # The search form shows what is searched and in which order.
    assert 'name="q" type="search" value="a"' in html
    assert '<option value="-price" selected>' in html
    # An action on a row comes back to this same list.
    assert 'name="next" value="/admin/plans?status=active&q=a&sort=-price"' in html


@pytest.mark.parametrize("sort", ["bogus", "price;drop", "--name", "-", "Name"])
def test_an_unknown_order_is_refused_beside_the_field(admin_client, plans, sort):
    response = admin_client.get("/admin/plans", query_string={"sort": sort, "q": "a"})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Choose an order from the list." in html
    assert f"(given: {sort})" in html
    # The plans still show, in display order, every one of them (the search is not applied
    # while the request is refused; the typed search is kept in its field).
    assert plan_ids(html) == ["archive", "pro", "basic", "team_annual"]
    assert 'name="q" type="search" value="a"' in html


def test_a_search_over_100_characters_is_refused_with_the_typed_text_kept(admin_client, plans):
    typed = "x" * 101
    response = admin_client.get("/admin/plans", query_string={"q": typed})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Search for at most 100 characters." in html
    assert f'value="{typed}"' in html
    assert 'aria-invalid="true"' in html


def test_an_unknown_status_is_the_list_of_all_plans(admin_client, plans):
    status, html = listing(admin_client, "?status=deleted&sort=id")
    assert status == 200
    assert plan_ids(html) == ["archive", "basic", "pro", "team_annual"]


def test_refusals_are_in_russian_on_russian_pages(admin_client, plans):
    status, html = listing(admin_client, "?sort=bogus", "ru")
    assert status == 400
    assert "Выберите порядок из списка." in unescape(html)
    status, html = listing(admin_client, "?q=" + "x" * 101, "ru")
    assert status == 400
    assert "Поиск — не более 100 символов." in unescape(html)


def test_a_sorted_search_costs_the_same_statements_as_the_plain_list(admin_client, plans, app):
    with QueryCounter(db.engine) as plain:
        listing(admin_client)
    with QueryCounter(db.engine) as searched:
        listing(admin_client, "?q=a&sort=-mrr")
    assert searched.count == plain.count


def test_the_service_parses_and_reproduces_the_list_parameters(app):
    query = service.plan_list_query("inactive", "  Pro ", "-mrr")
    assert query == service.PlanListQuery("inactive", "Pro", "mrr", descending=True)
    assert query.as_args() == {"status": "inactive", "q": "Pro", "sort": "-mrr"}
    assert service.plan_list_query(None, None, None).as_args() == {}
    with pytest.raises(service.PlanListArgumentError) as refused:
        service.plan_list_query("all", "", "cost")
    assert refused.value.field == "sort"
