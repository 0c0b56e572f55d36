"""Hypothesis properties of the code that meets untrusted input.

- The page normaliser: any value gives a page and a page size within bounds, never an error.
- The plan form and service, driven through the real /admin/plans/new page: any form data gives
  field errors (422, nothing written) or a valid plan that is stored (302), never a 5xx.
- Page links: walking every page of a plan's subscribers visits each exactly once, newest first,
  whatever the ties in created_at; ``page_window`` always holds the first, last and current page.
"""

import json
import math
import re
from html import unescape
from urllib.parse import urlsplit

import jsonschema
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing_admin.api.openapi import openapi_document
from billing_admin.extensions import db
from billing_admin.models import SUBSCRIPTION_STATUSES, AuditLog, Plan
from billing_admin.pagination import MAX_PAGE, MAX_PAGE_SIZE, normalise_paging, page_window
from billing_admin.plans.forms import parse_price
from billing_admin.plans.service import spec_of
from billing_admin.plans.spec import CURRENCIES, INTERVALS
from billing_admin.plans.validation import plan_errors
from billing_admin.security.input import NUL_REFUSED
from tests.helpers import add_plan, csrf_token_from, snapshot
from tests.subscriber_data import T0, bulk_subscribers, newest_first

API = "/api/v1/admin/billing"


def bounded(max_examples: int):
    """Hypothesis settings for these tests: few enough examples for CI, no deadline (a shared
    2-core machine), and no example database written into the tree."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def openapi_validator(schema_name: str) -> jsonschema.Draft202012Validator:
    document = openapi_document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", **document}
    return jsonschema.Draft202012Validator(schema)


# --- The page normaliser ----------------------------------------------------------------------

ANY_PAGING_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text(st.characters(categories=["Nd", "No", "Zs", "Cc", "Cs"]), max_size=20),
    st.text(alphabet="0123456789 -+_,.\u00a0\u202f٣", max_size=30),
    st.integers().map(str),
    st.integers().map(lambda n: f" {n:,} "),
    st.just("9" * 5000),  # beyond Python's int-from-text digit limit
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.decimals(allow_nan=True),
)


@bounded(300)
@given(page=ANY_PAGING_VALUE, page_size=ANY_PAGING_VALUE)
def test_normalise_paging_gives_values_within_bounds_for_any_input(page, page_size):
    number, size = normalise_paging(page, page_size)
    assert type(number) is int and type(size) is int
    assert 1 <= number <= MAX_PAGE
    assert 1 <= size <= MAX_PAGE_SIZE


@bounded(200)
@given(page=st.integers(min_value=1, max_value=MAX_PAGE), size=st.integers(1, MAX_PAGE_SIZE))
def test_normalise_paging_keeps_values_already_within_bounds(page, size):
    assert normalise_paging(page, size) == (page, size)
    assert normalise_paging(str(page), f" {size} ") == (page, size)


QUERY_TEXT = st.one_of(
    st.text(max_size=40),
    st.integers().map(str),
    st.sampled_from(["", "0", "-1", "1", "2", "101", "1e3", "1.5", "9" * 40, "٣", " 3 "]),
)


def test_any_paging_query_is_answered_within_bounds(admin_client):
    """Through the JSON API and the HTML table alike: any page, page_size, status and search."""
    add_plan("pro")
    bulk_subscribers("pro", 7, statuses=("active", "canceled"))

    @bounded(100)
    @given(
        query=st.fixed_dictionaries(
            {},
            optional={
                "page": QUERY_TEXT,
                "page_size": QUERY_TEXT,
                "status": st.one_of(st.sampled_from(SUBSCRIPTION_STATUSES), st.text(max_size=10)),
                "q": st.text(max_size=30),
            },
        )
    )
    def check(query):
        has_nul = any("\x00" in value for value in query.values())
        api = admin_client.get(f"{API}/plans/pro/subscribers", query_string=query)
        page = admin_client.get("/admin/plans/pro/subscribers", query_string=query)
        if has_nul:
            assert (api.status_code, page.status_code) == (400, 400)
            assert api.get_json() == {"detail": NUL_REFUSED}
            return
        assert page.status_code == 200
        status = query.get("status") or ""  # taken as given: " active " is not a status
        if status and status not in SUBSCRIPTION_STATUSES:
            assert api.status_code == 400
            assert "Valid statuses" in api.get_json()["detail"]
            return
        assert api.status_code == 200, api.get_data(as_text=True)
        body = api.get_json()
        assert (body["page"], body["page_size"]) == normalise_paging(
            query.get("page"), query.get("page_size")
        )
        assert 0 <= len(body["items"]) <= body["page_size"]
        assert body["total_pages"] == max(1, math.ceil(body["total"] / body["page_size"]))

    check()


# --- The plan form and service ------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


# Text a person could type: any character but control characters (and lone surrogates).
TYPED = st.characters(exclude_categories=("Cc", "Cs"))


def typed(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(TYPED, min_size=min_size, max_size=max_size)


def checkbox() -> st.SearchStrategy[str | None]:
    return st.sampled_from([None, "y"])


WHOLE = st.one_of(
    st.integers(0, 10**15).map(str),
    st.integers(0, 10**9).map(lambda n: f"{n:,}"),
    st.integers(0, 10**9).map(lambda n: f" {n:_} "),
)
# A valid value for each field, as varied as the rules allow.
VALID_FIELDS = {
    "id": st.one_of(st.just(""), st.from_regex(r"[a-z0-9_-]{1,64}", fullmatch=True)),
    "name": typed(1, 100).filter(str.strip),
    "name_ru": typed(0, 100),
    "description": typed(0, 200),
    "description_ru": typed(0, 200),
    "price": st.decimals(0, "99999999.99", places=2).map(str)
    | st.integers(0, 99_999_999).map(lambda n: f"{n:,}".replace(",", " ") + ",5"),
    "currency": st.sampled_from(CURRENCIES),
    "interval": st.sampled_from(INTERVALS),
    "unlimited_plan": checkbox(),
    "tokens_input": WHOLE,
    "tokens_input_unlimited": checkbox(),
    "tokens_output": WHOLE,
    "tokens_output_unlimited": checkbox(),
    "requests": WHOLE,
    "requests_unlimited": checkbox(),
    "features": st.lists(typed(1, 200).filter(str.strip), max_size=50).map("\n".join),
    "display_order": st.integers(0, 1_000_000).map(str),
    "is_active": checkbox(),
    "plan_extra_metadata": st.one_of(
        st.just(""), st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4).map(json.dumps)
    ),
    "version": st.none(),
}
NUMBER_TEXT = st.one_of(
    st.integers().map(str),
    st.sampled_from(["", "-0", "-1", "1.5", "1e3", "1,00", "1 0000", "٣", "9" * 30, "NaN"]),
    st.from_regex(r"-?[0-9]{0,13}([.,][0-9]{0,3})?", fullmatch=True),
)
# Anything at all, biased towards the edges of each rule.
ANY_TEXT = st.text(max_size=60) | st.text(st.characters(codec="utf-8"), max_size=300)
BROKEN_FIELDS = {
    "id": st.sampled_from(["new", "NEW", "a b", "t" * 65, "я"]) | ANY_TEXT,
    "name": st.sampled_from(["", " ", "N" * 101, "new", "x\x07"]) | ANY_TEXT,
    "name_ru": st.sampled_from(["И" * 101, "\x1b[31m"]) | ANY_TEXT,
    "description": st.sampled_from(["d" * 1001, "a\x00b"]) | ANY_TEXT,
    "description_ru": ANY_TEXT,
    "price": NUMBER_TEXT | st.sampled_from(["100000000", "0.001", "1e5", "Infinity"]) | ANY_TEXT,
    "currency": ANY_TEXT,
    "interval": ANY_TEXT,
    "unlimited_plan": ANY_TEXT,
    "tokens_input": NUMBER_TEXT | ANY_TEXT,
    "tokens_input_unlimited": ANY_TEXT,
    "tokens_output": NUMBER_TEXT | ANY_TEXT,
    "tokens_output_unlimited": ANY_TEXT,
    "requests": NUMBER_TEXT | st.just(str(10**15 + 1)) | ANY_TEXT,
    "requests_unlimited": ANY_TEXT,
    "features": st.lists(ANY_TEXT, max_size=55).map("\n".join) | st.just("x" * 201) | ANY_TEXT,
    "display_order": NUMBER_TEXT | st.just("1000001") | ANY_TEXT,
    "is_active": ANY_TEXT,
    "plan_extra_metadata": JSON_VALUES.map(json.dumps)
    | st.sampled_from(["[]", "{", '{"a": NaN}', '{"a": "\\ud800"}', "[" * 3000, "{}" * 6000])
    | ANY_TEXT,
    "version": ANY_TEXT,
}


@st.composite
def plan_forms(draw) -> dict[str, str]:
    """A valid form with none, one or a few fields replaced by anything at all; a field drawn as
    None is left out, as a browser leaves out an unticked checkbox."""
    broken = draw(st.sets(st.sampled_from(sorted(BROKEN_FIELDS)), max_size=4))
    form = {
        name: draw(BROKEN_FIELDS[name] if name in broken else VALID_FIELDS[name])
        for name in VALID_FIELDS
    }
    return {name: value for name, value in form.items() if value is not None}


def test_any_plan_form_gives_field_errors_or_a_stored_valid_plan(admin_client):
    token = csrf_token_from(admin_client.get("/admin/plans/new").get_data(as_text=True))
    plan_schema = openapi_validator("Plan")
    outcomes = []

    @bounded(150)
    @given(form=plan_forms())
    @example(form={"name": "new", "price": "0", "unlimited_plan": "y"}).via("a reserved id")
    @example(form={"name": "Team", "price": "-0", "unlimited_plan": "y"}).via("minus zero")
    @example(form={"name": "Team", "price": "1", "unlimited_plan": "y", "interval": ""}).via(
        "an empty choice"
    )
    def check(form):
        before = snapshot()
        response = admin_client.post("/admin/plans/new", data={**form, "csrf_token": token})
        html = response.get_data(as_text=True)
        assert "Traceback" not in html
        if any("\x00" in value for value in form.values()):
            assert response.status_code == 400, html
            assert snapshot() == before
            outcomes.append(400)
            return
        assert response.status_code in (302, 422), (response.status_code, form)
        outcomes.append(response.status_code)
        after = snapshot()
        if response.status_code == 422:
            assert after == before, form
            return
        # Saved: exactly one new plan and one audit entry, and the plan obeys every rule.
        plan_id = urlsplit(response.headers["Location"]).path.rsplit("/", 1)[-1]
        assert len(after["plans"]) == len(before["plans"]) + 1
        assert len(after["audit"]) == len(before["audit"]) + 1
        plan = db.session.get(Plan, plan_id)
        entry = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.entity_type == "plan").order_by(AuditLog.id.desc())
        ).first()
        assert (entry.action, entry.entity_id) == ("plan_created", plan_id)
        assert plan_errors(spec_of(plan)) == {}
        assert plan.name == form["name"].strip()
        assert plan.price == parse_price(form["price"])
        assert plan.is_active == (form.get("is_active") not in (None, "", "false"))
        db.session.rollback()
        # ...and every page that shows it works, the API's answer included.
        for path in (f"/admin/plans/{plan_id}", f"/admin/plans/{plan_id}/edit", "/admin/plans"):
            assert admin_client.get(path).status_code == 200, path
        api = admin_client.get(f"{API}/plans/{plan_id}")
        assert api.status_code == 200
        plan_schema.validate(json.loads(api.get_data(as_text=True), parse_constant=_not_json))

    check()
    # The strategies reach both outcomes, or the property says little.
    assert 302 in outcomes and 422 in outcomes, outcomes


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


def post_new_plan(client, **fields):
    token = csrf_token_from(client.get("/admin/plans/new").get_data(as_text=True))
    data = {
        "id": "meta",
        "name": "Meta",
        "price": "490",
        "currency": "RUB",
        "interval": "month",
        "unlimited_plan": "y",
        "display_order": "0",
        "csrf_token": token,
        **fields,
    }
    return client.post("/admin/plans/new", data=data)


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_metadata_with_an_overflowing_number_is_refused_or_stored_as_json(admin_client, number):
    before = snapshot()
    response = post_new_plan(admin_client, plan_extra_metadata=f'{{"a": {number}}}')
    assert response.status_code in (302, 422)
    if response.status_code == 422:
        assert snapshot() == before
        return
    api = admin_client.get(f"{API}/plans/meta")
    body = json.loads(api.get_data(as_text=True), parse_constant=_not_json)
    openapi_validator("Plan").validate(body)


def test_deeply_nested_metadata_gives_a_field_error_or_a_plan(admin_client):
    depth = 400  # 807 characters
    before = snapshot()
    response = post_new_plan(
        admin_client, plan_extra_metadata='{"a": ' + "[" * depth + "]" * depth + "}"
    )
    assert response.status_code in (302, 422)
    if response.status_code == 422:
        assert snapshot() == before


# --- Page links -----------------------------------------------------------------------------

SUBSCRIBER_SETS = st.lists(
    st.tuples(
        st.sampled_from([T0, T0, T0, T0 + 1, T0 + 2, T0 - 86_400]),  # many identical created_at
        st.sampled_from(SUBSCRIPTION_STATUSES),
    ),
    max_size=60,
)


def test_walking_every_page_visits_every_subscriber_once_newest_first(admin_client):
    plans_made = []

    @bounded(60)
    @given(
        rows=SUBSCRIBER_SETS,
        page_size=st.one_of(st.integers(1, 12), st.integers(1, 120)),
        status=st.one_of(st.none(), st.sampled_from(SUBSCRIPTION_STATUSES)),
    )
    def check(rows, page_size, status):
        plan_id = f"walk_{len(plans_made)}"
        plans_made.append(plan_id)
        add_plan(plan_id)
        made = []
        if rows:
            made = bulk_subscribers(
                plan_id,
                len(rows),
                created_at=[created for created, _ in rows],
                statuses=[state for _, state in rows],
            )
        expected = [m.user_id for m in newest_first(made) if status in (None, m.status)]
        size = min(page_size, MAX_PAGE_SIZE)
        query = {"page_size": page_size, **({"status": status} if status else {})}

        first = admin_client.get(f"{API}/plans/{plan_id}/subscribers", query_string=query)
        body = first.get_json()
        assert (body["total"], body["page_size"]) == (len(expected), size)
        assert body["total_pages"] == max(1, math.ceil(len(expected) / size))
        seen = []
        for number in range(1, body["total_pages"] + 2):  # and one past the last
            response = admin_client.get(
                f"{API}/plans/{plan_id}/subscribers", query_string={**query, "page": number}
            )
            assert response.status_code == 200
            items = response.get_json()["items"]
            if number < body["total_pages"]:
                assert len(items) == size
            elif number > body["total_pages"]:
                assert items == []
            seen += [item["user_id"] for item in items]
        assert seen == expected

    check()


def next_page_link(html: str) -> str | None:
    match = re.search(r'<a href="([^"]+)" aria-label="Next page">', html)
    return unescape(match.group(1)) if match else None


def test_following_next_links_on_the_page_visits_every_subscriber_once(admin_client):
    """The HTML table's own links, followed from the first page (filters and size kept)."""
    plans_made = []

    @bounded(25)
    @given(
        rows=SUBSCRIBER_SETS,
        page_size=st.integers(1, 15),
        status=st.one_of(st.none(), st.sampled_from(SUBSCRIPTION_STATUSES)),
    )
    def check(rows, page_size, status):
        plan_id = f"links_{len(plans_made)}"
        plans_made.append(plan_id)
        add_plan(plan_id)
        made = []
        if rows:
            made = bulk_subscribers(
                plan_id,
                len(rows),
                created_at=[created for created, _ in rows],
                statuses=[state for _, state in rows],
                email_prefix=plan_id,
            )
        expected = [m.email for m in newest_first(made) if status in (None, m.status)]
        query = {"page_size": page_size, **({"status": status} if status else {})}
        url, seen, pages = f"/admin/plans/{plan_id}/subscribers", [], 0
        response = admin_client.get(url, query_string=query)
        while True:
            assert response.status_code == 200
            html = response.get_data(as_text=True)
            # The email cell links to the subscription's page (issue 13).
            seen += re.findall(r"<td[^>]*><a href=\"[^\"]+\">([^<]+@example\.com)</a></td>", html)
            pages += 1
            link = next_page_link(html)
            if link is None:
                break
            response = admin_client.get(link)
        assert seen == expected
        assert pages == max(1, math.ceil(len(expected) / page_size))

    check()


@bounded(500)
@given(
    total_pages=st.one_of(st.integers(1, 30), st.integers(1, MAX_PAGE)),
    data=st.data(),
    radius=st.integers(0, 4),
)
def test_page_window_holds_first_last_and_current_page_in_order(total_pages, data, radius):
    page = data.draw(st.one_of(st.integers(1, total_pages), st.sampled_from([1, total_pages])))
    window = page_window(page, total_pages, radius)
    numbers = [n for n in window if n is not None]
    assert {1, total_pages, page} <= set(numbers)
    assert numbers == sorted(set(numbers))  # sorted, no page twice
    assert all(1 <= n <= total_pages for n in numbers)
    near = range(max(1, page - radius), min(total_pages, page + radius) + 1)
    assert set(near) <= set(numbers)
    # A gap marker stands only between two numbers more than one page apart.
    for index, entry in enumerate(window):
        if entry is None:
            assert 0 < index < len(window) - 1
            assert window[index + 1] - window[index - 1] > 2


@bounded(200)
@given(page=st.integers(-5, 10**10), total_pages=st.integers(1, 10**10))
def test_page_window_never_fails_even_past_the_last_page(page, total_pages):
    numbers = [n for n in page_window(page, total_pages) if n is not None]
    assert numbers[0] == 1 and numbers[-1] == total_pages
    assert numbers == sorted(set(numbers))
