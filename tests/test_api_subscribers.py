"""The JSON API for scripts: a plan's subscribers page by page, the plans, and the OpenAPI
document that describes them (real answers are validated against it)."""

import logging
import math
import re

import jsonschema
import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import SUBSCRIPTION_STATUSES, Subscription, User
from tests.helpers import QueryCounter, add_plan, add_subscription, bearer, make_token
from tests.subscriber_data import T0, Made, add_subscriber, bulk_subscribers, newest_first

API = "/api/v1/admin/billing"
ITEM_KEYS = {
    "user_id",
    "email",
    "name",
    "subscription_status",
    "subscribed_at",
    "current_period_end",
}
VALID_STATUSES = "Valid statuses: active, trialing, past_due, paused, canceled"


def subscribers(client, plan_id="pro", headers=None, **params):
    return client.get(f"{API}/plans/{plan_id}/subscribers", query_string=params, headers=headers)


def as_item(made: Made) -> dict:
    return {
        "user_id": made.user_id,
        "email": made.email,
        "name": made.name,
        "subscription_status": made.status,
        "subscribed_at": made.created_at,
        "current_period_end": made.current_period_end,
    }


def walk(client, plan_id="pro", **params) -> tuple[list[str], list[dict]]:
    """Every page from the first to one past the last: the user ids in order, and each body."""
    first = subscribers(client, plan_id, page=1, **params).get_json()
    bodies = [first]
    for number in range(2, first["total_pages"] + 2):
        response = subscribers(client, plan_id, page=number, **params)
        assert response.status_code == 200
        bodies.append(response.get_json())
    assert bodies[-1]["items"] == []  # one past the last page
    return [item["user_id"] for body in bodies for item in body["items"]], bodies


# --- Paging values are normalised, never refused -------------------------------------------


@pytest.fixture
def pro_with_120(app):
    add_plan("pro")
    return newest_first(bulk_subscribers("pro", 120, created_at=range(T0, T0 + 120)))


@pytest.mark.parametrize(
    ("page", "expected_page"),
    [
        (0, 1),
        (-1, 1),
        (101, 101),
        (10**9, 10**9),
        ("abc", 1),
        ("", 1),
        ("1.5", 1),
        (3, 3),
    ],
)
def test_page_is_normalised(admin_client, pro_with_120, page, expected_page):
    response = subscribers(admin_client, page=page)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["page"], body["page_size"], body["total"], body["total_pages"]) == (
        expected_page,
        20,
        120,
        6,
    )
    start = (expected_page - 1) * 20
    assert body["items"] == [as_item(m) for m in pro_with_120[start : start + 20]]


@pytest.mark.parametrize(
    ("page_size", "expected_size"),
    [
        (0, 20),
        (-1, 20),
        (101, 100),
        (10**9, 100),
        ("abc", 20),
        ("", 20),
        ("1.5", 20),
        (7, 7),
    ],
)
def test_page_size_is_normalised(admin_client, pro_with_120, page_size, expected_size):
    response = subscribers(admin_client, page=2, page_size=page_size)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["page"], body["page_size"], body["total"]) == (2, expected_size, 120)
    assert body["total_pages"] == math.ceil(120 / expected_size)
    expected = pro_with_120[expected_size : 2 * expected_size]
    assert body["items"] == [as_item(m) for m in expected]


def test_page_size_over_100_is_capped(admin_client, pro_with_120):
    body = subscribers(admin_client, page_size=101).get_json()
    assert body["page_size"] == 100
    assert len(body["items"]) == 100


def test_a_huge_page_is_allowed_and_empty_with_the_right_total(admin_client, pro_with_120):
    body = subscribers(admin_client, page=10**9, page_size=100).get_json()
    assert body == {
        "items": [],
        "total": 120,
        "page": 10**9,
        "page_size": 100,
        "total_pages": 2,
        "next_cursor": None,
    }


# --- The answer's shape ----------------------------------------------------------------------


def test_the_answer_has_exactly_the_original_shape(admin_client):
    add_plan("pro")
    made = add_subscriber(
        "pro",
        email="anna@example.com",
        name="Anna Ivanova",
        status="trialing",
        created_at=1_760_000_000,
        current_period_end=1_761_209_600,
    )
    response = subscribers(admin_client)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "items": [
            {
                "user_id": made.user_id,
                "email": "anna@example.com",
                "name": "Anna Ivanova",
                "subscription_status": "trialing",
                "subscribed_at": 1_760_000_000,
                "current_period_end": 1_761_209_600,
            }
        ],
        "total": 1,
        "page": 1,
        "page_size": 20,
        "total_pages": 1,
        # Ours beside the original's fields (issue 14): null, there is no next page.
        "next_cursor": None,
    }


def test_items_have_integer_timestamps_and_subscribed_at_is_created_at(admin_client):
    add_plan("pro")
    subscription = add_subscription("pro", created_at=1_700_000_123)
    db.session.commit()
    [item] = subscribers(admin_client).get_json()["items"]
    assert set(item) == ITEM_KEYS
    assert type(item["subscribed_at"]) is int
    assert type(item["current_period_end"]) is int
    assert item["subscribed_at"] == subscription.created_at == 1_700_000_123
    assert item["current_period_end"] == subscription.current_period_end


def test_an_empty_plan_has_no_items_and_one_page(admin_client):
    add_plan("pro")
    body = subscribers(admin_client).get_json()
    assert body == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": 20,
        "total_pages": 1,
        "next_cursor": None,
    }


def test_the_last_page_is_partial(admin_client):
    add_plan("pro")
    made = newest_first(bulk_subscribers("pro", 45, created_at=range(T0, T0 + 45)))
    body = subscribers(admin_client, page=3).get_json()
    assert (body["total"], body["page"], body["total_pages"]) == (45, 3, 3)
    assert body["items"] == [as_item(m) for m in made[40:]]


def test_a_page_past_the_last_is_empty_with_the_right_total(admin_client):
    add_plan("pro")
    bulk_subscribers("pro", 45)
    body = subscribers(admin_client, page=4).get_json()
    assert body == {
        "items": [],
        "total": 45,
        "page": 4,
        "page_size": 20,
        "total_pages": 3,
        "next_cursor": None,
    }


# --- Order: newest first, the id breaking ties -----------------------------------------------


@pytest.fixture
def tied(app) -> list[Made]:
    """45 subscriptions: 25 share one created_at, 10 are newer and 10 older (also tied)."""
    add_plan("pro")
    made = []
    for created_at in [T0] * 25 + [T0 + 60] * 10 + [T0 - 60] * 10:
        subscription = add_subscription("pro", created_at=created_at)
        user = db.session.get(User, subscription.user_id)
        made.append(
            Made(
                subscription.id,
                user.id,
                user.email,
                user.name,
                "active",
                created_at,
                subscription.current_period_end,
                False,
            )
        )
    db.session.commit()
    return newest_first(made)


@pytest.mark.parametrize("page_size", [1, 7, 20, 100])
def test_every_subscription_is_on_exactly_one_page_in_a_stable_order(admin_client, tied, page_size):
    order, bodies = walk(admin_client, page_size=page_size)
    assert order == [m.user_id for m in tied]
    assert len(set(order)) == 45
    assert all(body["total"] == 45 for body in bodies)


@pytest.mark.parametrize(("page", "page_size"), [(30, 1), (44, 1), (45, 1), (5, 7), (7, 7)])
def test_pages_nearer_the_end_are_in_the_same_order(admin_client, tied, page, page_size):
    # The service reads these from the oldest end and reverses them.
    body = subscribers(admin_client, page=page, page_size=page_size).get_json()
    start = (page - 1) * page_size
    assert [i["user_id"] for i in body["items"]] == [
        m.user_id for m in tied[start : start + page_size]
    ]


def test_ids_break_ties_in_descending_order(admin_client, tied):
    body = subscribers(admin_client, page_size=100).get_json()
    by_user = {m.user_id: m for m in tied}
    keys = [(i["subscribed_at"], by_user[i["user_id"]].subscription_id) for i in body["items"]]
    assert keys == sorted(keys, reverse=True)
    assert len({created for created, _ in keys}) == 3  # the ties are really there


# --- The status filter -----------------------------------------------------------------------

STATUS_MIX = {"active": 4, "trialing": 3, "past_due": 2, "paused": 1, "canceled": 5}


@pytest.fixture
def mixed(app) -> list[Made]:
    add_plan("pro")
    add_plan("other")
    bulk_subscribers("other", 5, statuses=SUBSCRIPTION_STATUSES)
    statuses = [s for s, n in STATUS_MIX.items() for _ in range(n)]
    return newest_first(
        bulk_subscribers("pro", len(statuses), statuses=statuses, created_at=[T0, T0, T0 + 5])
    )


@pytest.mark.parametrize("status", SUBSCRIPTION_STATUSES)
def test_the_status_filter_keeps_only_that_status(admin_client, mixed, status):
    body = subscribers(admin_client, status=status, page_size=2).get_json()
    assert body["total"] == STATUS_MIX[status]
    assert body["total_pages"] == math.ceil(STATUS_MIX[status] / 2)
    order, _ = walk(admin_client, status=status, page_size=2)
    assert order == [m.user_id for m in mixed if m.status == status]


def test_without_a_status_every_status_is_listed(admin_client, mixed):
    for params in ({}, {"status": ""}):
        body = subscribers(admin_client, page_size=100, **params).get_json()
        assert body["total"] == sum(STATUS_MIX.values())
        assert [i["user_id"] for i in body["items"]] == [m.user_id for m in mixed]


@pytest.mark.parametrize("status", ["bogus", "Active", "cancelled", "all"])
def test_an_invalid_status_is_a_400_listing_the_valid_ones(admin_client, mixed, status):
    response = subscribers(admin_client, status=status)
    assert response.status_code == 400
    assert response.get_json() == {"detail": f"Invalid status '{status}'. {VALID_STATUSES}"}
    for valid in SUBSCRIPTION_STATUSES:
        assert valid in response.get_json()["detail"]


# --- Who may call it -------------------------------------------------------------------------

ENDPOINTS = [
    f"{API}/plans",
    f"{API}/plans/pro",
    f"{API}/plans/pro/subscribers",
    f"{API}/plans/pro/subscribers?page=2&page_size=5&status=active",
]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_no_credentials_get_a_401_asking_for_a_bearer_token(client, admin, url):
    add_plan("pro")
    response = client.get(url)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_wrong_token_gets_a_401(client, admin, url):
    add_plan("pro")
    response = client.get(url, headers={"Authorization": "Bearer bat_wrong"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_token_of_a_non_admin_gets_a_403(client, runner, admin, url):
    add_plan("pro")
    token = make_token(runner, "script")
    db.session.execute(sa.update(User).where(User.id == admin.id).values(role="user"))
    db.session.commit()
    response = client.get(url, headers=bearer(token))
    assert response.status_code == 403
    assert response.get_json() == {"detail": "The token's owner is not an admin"}


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_demoted_session_gets_a_403(admin_client, admin, url):
    add_plan("pro")
    assert admin_client.get(url).status_code == 200
    db.session.execute(sa.update(User).where(User.id == admin.id).values(role="user"))
    db.session.commit()
    response = admin_client.get(url)
    assert response.status_code == 403
    assert response.get_json() == {"detail": "An admin account is needed."}


def test_an_admins_token_reads_the_subscribers(client, runner, admin):
    add_plan("pro")
    made = add_subscriber("pro")
    token = make_token(runner, "script")
    response = subscribers(client, headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["items"] == [as_item(made)]


# --- Errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("plan_id", ["nope", "PRO", "pro-x"])
def test_an_unknown_plan_is_a_404(admin_client, plan_id):
    add_plan("pro")
    response = subscribers(admin_client, plan_id)
    assert response.status_code == 404
    assert response.get_json() == {"detail": f"Plan '{plan_id}' not found"}


def test_an_unknown_plan_is_a_404_even_with_bad_paging_and_status(admin_client):
    response = subscribers(admin_client, "nope", page="abc", page_size=0)
    assert (response.status_code, response.get_json()) == (404, {"detail": "Plan 'nope' not found"})


def test_an_unexpected_failure_is_a_500_and_is_logged(admin_client, monkeypatch, caplog):
    add_plan("pro")

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("billing_admin.api.views.subscribers_page", broken)
    with caplog.at_level(logging.ERROR):
        response = subscribers(admin_client)
    assert response.status_code == 500
    assert response.get_json() == {"detail": "Failed to get plan subscribers"}
    assert "the database went away" not in response.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.levelno == logging.ERROR
    assert "'pro'" in record.getMessage()
    assert isinstance(record.exc_info[1], RuntimeError)
    assert str(record.exc_info[1]) == "the database went away"


# --- items and total agree -------------------------------------------------------------------


@pytest.mark.parametrize("status", [None, "active", "canceled"])
def test_items_and_total_agree(admin_client, status):
    add_plan("pro")
    bulk_subscribers("pro", 37, statuses=("active", "canceled", "active"))
    params = {"status": status} if status else {}
    order, bodies = walk(admin_client, page_size=10, **params)
    assert len(order) == bodies[0]["total"] == {None: 37, "active": 25, "canceled": 12}[status]


def test_a_subscription_cannot_lose_its_user(app):
    # The original counted subscriptions whose user was gone but did not list them; here a
    # foreign key keeps every subscription's user, so the count and the list cannot disagree.
    add_plan("pro")
    made = add_subscriber("pro")
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.delete(User).where(User.id == made.user_id))
        db.session.flush()
    db.session.rollback()


# --- A constant number of SQL statements -----------------------------------------------------


def statements(client, **params) -> int:
    with QueryCounter(db.engine) as counter:
        response = subscribers(client, **params)
    assert response.status_code == 200
    assert response.get_json()["items"]
    return counter.count


@pytest.mark.parametrize("status", [None, "active"])
def test_one_page_runs_the_same_number_of_statements_at_any_size_and_depth(admin_client, status):
    add_plan("pro")
    bulk_subscribers("pro", 250, created_at=[T0, T0 + 1, T0 + 1], statuses=("active", "paused"))
    filters = {"status": status} if status else {}
    total = subscribers(admin_client, **filters).get_json()["total"]
    counts = {}
    for size in (1, 20, 100):
        last = math.ceil(total / size)
        for page in (1, max(1, last // 2), last):
            counts[(size, page)] = statements(admin_client, page=page, page_size=size, **filters)
    assert len(set(counts.values())) == 1, counts


def test_the_number_of_statements_does_not_grow_with_the_rows(admin_client):
    add_plan("small")
    add_plan("big")
    bulk_subscribers("small", 3)
    bulk_subscribers("big", 600)
    small = statements(admin_client, plan_id="small", page=2, page_size=1)
    assert statements(admin_client, plan_id="big", page=2, page_size=1) == small
    assert statements(admin_client, plan_id="big", page=300, page_size=1) == small
    assert statements(admin_client, plan_id="big", page=6, page_size=100) == small


def test_a_page_without_rows_skips_the_anchor_and_page_queries(admin_client):
    # In range, a page is read with two statements (its anchor, then its rows); a page past
    # the last, or an empty plan, needs neither.
    add_plan("pro")
    add_plan("empty")
    bulk_subscribers("pro", 30)
    in_range = statements(admin_client, page=2)
    with QueryCounter(db.engine) as past:
        assert subscribers(admin_client, page=99).get_json()["items"] == []
    with QueryCounter(db.engine) as empty:
        assert subscribers(admin_client, "empty").get_json()["items"] == []
    assert past.count == empty.count == in_range - 2


# --- The plans -------------------------------------------------------------------------------


@pytest.fixture
def three_plans(app):
    from decimal import Decimal

    add_plan("pro", display_order=1)
    add_plan("annual", price=Decimal("12000.00"), interval="year", display_order=2)
    add_plan("free", price=Decimal("0.00"), display_order=0)
    bulk_subscribers("pro", 5, statuses=("active", "active", "active", "canceled", "paused"))
    bulk_subscribers("annual", 3, statuses=("active", "active", "trialing"))


def test_the_plan_list_has_counts_by_status_and_mrr_as_a_string(admin_client, three_plans):
    response = admin_client.get(f"{API}/plans")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [plan["id"] for plan in items] == ["free", "pro", "annual"]
    by_id = {plan["id"]: plan for plan in items}
    assert by_id["pro"]["subscribers"] == {
        "active": 3,
        "trialing": 0,
        "past_due": 0,
        "paused": 1,
        "canceled": 1,
    }
    assert by_id["pro"]["subscribers_total"] == 5
    assert by_id["pro"]["mrr"] == "4470.00"  # 3 active × 1490.00
    assert by_id["pro"]["price"] == "1490.00"
    assert by_id["annual"]["subscribers"]["trialing"] == 1
    assert by_id["annual"]["mrr"] == "2000.00"  # 2 active × 12000.00 / 12
    assert by_id["free"]["subscribers"] == dict.fromkeys(SUBSCRIPTION_STATUSES, 0)
    assert by_id["free"]["subscribers_total"] == 0
    assert by_id["free"]["mrr"] == "0.00"


def test_one_plan_is_the_same_as_in_the_list(admin_client, three_plans):
    listed = {p["id"]: p for p in admin_client.get(f"{API}/plans").get_json()["items"]}
    for plan_id in ("pro", "annual", "free"):
        response = admin_client.get(f"{API}/plans/{plan_id}")
        assert response.status_code == 200
        assert response.get_json() == listed[plan_id]


def test_the_plan_has_its_stored_fields(admin_client, three_plans):
    plan = admin_client.get(f"{API}/plans/pro").get_json()
    assert plan["name"] == "Pro"
    assert (plan["currency"], plan["interval"]) == ("RUB", "month")
    assert plan["quotas"] == {
        "tokens_input": 5_000_000,
        "tokens_output": 2_000_000,
        "requests": 20_000,
    }
    assert plan["features"] == ["GPT-4o"]
    assert plan["is_active"] is True
    assert isinstance(plan["created_at"], int)


def test_an_unknown_plan_is_a_404_on_the_plan_endpoint(admin_client, three_plans):
    response = admin_client.get(f"{API}/plans/nope")
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Plan 'nope' not found"}


def test_no_plans_is_an_empty_list(admin_client):
    assert admin_client.get(f"{API}/plans").get_json() == {"items": []}


def test_counts_follow_subscription_changes(admin_client, three_plans):
    db.session.execute(
        sa.update(Subscription).where(Subscription.plan_id == "pro").values(status="past_due")
    )
    db.session.commit()
    plan = admin_client.get(f"{API}/plans/pro").get_json()
    assert plan["subscribers"]["past_due"] == 5
    assert plan["mrr"] == "0.00"


# --- The OpenAPI document --------------------------------------------------------------------


@pytest.fixture
def document(admin_client):
    response = admin_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    return doc


def response_schema(doc: dict, path: str, code: int) -> dict:
    """The JSON schema the document gives for ``GET path`` answering ``code``."""
    answer = doc["paths"][path]["get"]["responses"][str(code)]
    while "$ref" in answer:
        assert answer["$ref"].startswith("#/")
        target = doc
        for part in answer["$ref"][2:].split("/"):
            target = target[part]
        answer = target
    schema = answer["content"]["application/json"]["schema"]
    return {**schema, "components": doc["components"]}


def check(doc: dict, path: str, code: int, body) -> None:
    schema = response_schema(doc, path, code)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(body)


PLANS_PATH = "/api/v1/admin/billing/plans"
PLAN_PATH = "/api/v1/admin/billing/plans/{plan_id}"
SUBSCRIBERS_PATH = "/api/v1/admin/billing/plans/{plan_id}/subscribers"


def test_the_document_lists_every_admin_billing_route(app, document):
    routes = {
        re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/admin/billing/")
    }
    assert {PLANS_PATH, PLAN_PATH, SUBSCRIBERS_PATH} <= routes
    assert routes - set(document["paths"]) == set()


def test_the_document_names_the_parameters_and_statuses(document):
    parameters = {p["name"]: p for p in document["paths"][SUBSCRIBERS_PATH]["get"]["parameters"]}
    assert set(parameters) == {"plan_id", "page", "page_size", "status", "cursor"}
    assert parameters["status"]["schema"]["enum"] == [*SUBSCRIPTION_STATUSES, ""]  # "": all
    responses = document["paths"][SUBSCRIBERS_PATH]["get"]["responses"]
    assert {"200", "400", "401", "403", "404", "500"} <= set(responses)


def test_real_200_answers_match_the_document(admin_client, document, three_plans):
    add_subscriber("pro", name="", status="trialing")
    checked = [
        (PLANS_PATH, admin_client.get(f"{API}/plans")),
        (PLAN_PATH, admin_client.get(f"{API}/plans/pro")),
        (PLAN_PATH, admin_client.get(f"{API}/plans/free")),
        (SUBSCRIBERS_PATH, subscribers(admin_client, page_size=3)),
        (SUBSCRIBERS_PATH, subscribers(admin_client, status="active")),
        (SUBSCRIBERS_PATH, subscribers(admin_client, page=99)),
        (SUBSCRIBERS_PATH, subscribers(admin_client, "free")),
    ]
    for path, response in checked:
        assert response.status_code == 200
        check(document, path, 200, response.get_json())
    assert subscribers(admin_client, page_size=3).get_json()["items"]  # not only empty lists


def test_real_error_answers_match_the_document(app, admin_client, document, three_plans):
    anonymous = app.test_client()
    errors = [
        (PLANS_PATH, 401, anonymous.get(f"{API}/plans")),
        (PLAN_PATH, 401, anonymous.get(f"{API}/plans/pro")),
        (SUBSCRIBERS_PATH, 401, subscribers(anonymous)),
        (PLAN_PATH, 404, admin_client.get(f"{API}/plans/nope")),
        (SUBSCRIBERS_PATH, 404, subscribers(admin_client, "nope")),
        (SUBSCRIBERS_PATH, 400, subscribers(admin_client, status="bogus")),
    ]
    for path, code, response in errors:
        assert response.status_code == code
        check(document, path, code, response.get_json())


def test_a_500_answer_matches_the_document(admin_client, document, monkeypatch, caplog):
    add_plan("pro")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("billing_admin.api.views.subscribers_page", broken)
    with caplog.at_level(logging.CRITICAL):
        response = subscribers(admin_client)
    assert response.status_code == 500
    check(document, SUBSCRIBERS_PATH, 500, response.get_json())


@pytest.mark.parametrize(
    ("path", "code", "body"),
    [
        (SUBSCRIBERS_PATH, 200, {"items": [], "total": 0, "page": 1, "page_size": 20}),
        (
            SUBSCRIBERS_PATH,
            200,
            {"items": [], "total": 0, "page": 1, "page_size": 20, "total_pages": 1, "x": 1},
        ),
        (
            SUBSCRIBERS_PATH,
            200,
            {
                "items": [
                    {
                        "user_id": "u",
                        "email": "e",
                        "name": "n",
                        "subscription_status": "active",
                        "subscribed_at": "1700000000",
                        "current_period_end": 1,
                    }
                ],
                "total": 1,
                "page": 1,
                "page_size": 20,
                "total_pages": 1,
            },
        ),
        (SUBSCRIBERS_PATH, 404, {"error": "Plan 'x' not found"}),
        (PLAN_PATH, 200, {"id": "pro"}),
    ],
)
def test_the_document_rejects_answers_of_another_shape(document, path, code, body):
    # The checks above would pass vacuously if the schemas accepted anything.
    with pytest.raises(jsonschema.ValidationError):
        check(document, path, code, body)
