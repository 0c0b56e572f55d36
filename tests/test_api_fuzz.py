"""Schemathesis against the JSON API's own OpenAPI document, in process (WSGI, no server).

The document is admin-only: it is loaded from the app with a Bearer token made by
`flask create-api-token`, and Schemathesis is given the token as the document's ``bearer``
scheme, so negative cases can also leave it out or spoil it. Plans and subscribers are seeded
first, so generated requests reach real plans and real pages, not only 404s.

Every answer must be one the document describes (status code, content type, headers, body
schema) and none may be a 5xx: Schemathesis's default checks, run by ``call_and_validate``.
The tests at the end pin two places where app and document once disagreed (an empty or padded
status; a NUL in a paging value): the document now says what the app does.
Runs on each engine of the ``app`` fixture.
"""

import collections

import jsonschema
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_admin.api.openapi import openapi_document
from billing_admin.api.subscriptions import API_ACTIONS
from billing_admin.extensions import db
from billing_admin.models import SUBSCRIPTION_STATUSES, Plan
from tests.helpers import bearer, make_token
from tests.subscriber_data import T0, add_subscriber, bulk_subscribers

OPENAPI_PATH = "/api/v1/openapi.json"
SUBSCRIBERS = "/api/v1/admin/billing/plans/{plan_id}/subscribers"


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,  # no .hypothesis/ folder in the tree
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def schemathesis_config(token: str) -> dict:
    """The bearer token, and what a request the document accepts may still get: the plan rules
    the document cannot say (a blank name, control characters, a third decimal, an id already
    taken, a quota lowered under active subscriptions, a plan in use: 400 or 422), 404 for an
    unknown plan, 409/422 for a reused Idempotency-Key, 412 for a stale If-Match."""
    return {
        "auth": {"openapi": {"bearer": {"bearer": token}}},
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "412", "422"]
            }
        },
    }


class Api:
    def __init__(self, schema, headers: dict[str, str], plan_ids: list[str]):
        self.schema = schema
        self.headers = headers
        self.plan_ids = plan_ids

    def operations(self):
        return [result.ok() for result in self.schema.get_all_operations()]

    def cases(self, mode: schemathesis.GenerationMode):
        """Cases for every operation; a ``plan_id`` is often a real plan, else generated."""
        known = st.sampled_from([*self.plan_ids, "no_such_plan"])
        strategies = []
        for operation in self.operations():
            strategies.append(operation.as_strategy(generation_mode=mode))
            if "{plan_id}" in operation.path:
                strategies.append(
                    known.flatmap(
                        lambda plan_id, operation=operation: operation.as_strategy(
                            generation_mode=mode, path_parameters={"plan_id": plan_id}
                        )
                    )
                )
        return st.one_of(strategies)


@pytest.fixture
def api(app, admin, runner, app_factory) -> Api:
    db.session.commit()
    seeded = runner.invoke(args=["seed-plans", "--include-annual", "--include-promo"])
    assert seeded.exit_code == 0, seeded.output
    bulk_subscribers(
        "pro",
        45,
        created_at=[T0, T0, T0 + 1],  # many identical created_at values
        statuses=SUBSCRIPTION_STATUSES,
    )
    bulk_subscribers("free", 3)
    add_subscriber("business", name="Иван Петров", email="ivan@example.com", status="canceled")
    add_subscriber("newyear_2025", name='"; DROP TABLE --', status="trialing")
    plan_ids = list(db.session.scalars(sa.select(Plan.id).order_by(Plan.id)))
    db.session.rollback()
    assert len(plan_ids) == 9

    token = make_token(runner, "fuzz", scope="write")
    config = schemathesis.Config.from_dict(schemathesis_config(token))
    # A second app over the same database: each request then runs in its own app context and
    # database session, as under a real server (the test's context belongs to ``app``).
    served = app_factory()
    headers = bearer(token)
    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, served, config=config, headers=headers)
    return Api(schema, headers, plan_ids)


def test_the_served_document_is_the_one_in_code_and_valid(api):
    assert api.schema.raw_schema == openapi_document()
    api.schema.validate()
    assert sorted(op.label for op in api.operations()) == sorted(
        [
            "DELETE /api/v1/admin/billing/plans/{plan_id}",
            "GET /api/v1/admin/billing/plans",
            "GET /api/v1/admin/billing/plans/{plan_id}",
            f"GET {SUBSCRIBERS}",
            "PATCH /api/v1/admin/billing/plans/{plan_id}/toggle",
            "POST /api/v1/admin/billing/plans",
            "POST /api/v1/admin/billing/plans/{plan_id}/duplicate",
            "PUT /api/v1/admin/billing/plans/{plan_id}",
            *(
                f"POST /api/v1/admin/billing/subscriptions/{{subscription_id}}/{slug}"
                for slug in sorted(a.slug for a in API_ACTIONS)
            ),
            "GET /api/v1/admin/billing/subscriptions/{subscription_id}",
            "GET /api/v1/admin/billing/users/{user_id}/subscription",
            "PUT /api/v1/admin/billing/users/{user_id}/subscription",
        ]
    )


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_generated_requests_get_documented_answers_and_no_5xx(api, mode):
    statuses = collections.Counter()

    @fuzz_settings(100)
    @given(case=api.cases(schemathesis.GenerationMode(mode)))
    def check(case):
        response = case.call_and_validate()
        statuses[response.status_code] += 1

    check()
    assert not any(status >= 500 for status in statuses)
    if mode == "positive":
        assert statuses[200] > 0, statuses  # the run reached real data, not only refusals
    else:
        assert any(400 <= status < 500 for status in statuses), statuses


def test_coverage_cases_get_documented_answers_and_no_5xx(api):
    """Schemathesis's deterministic phase: boundary values, missing credentials, and every
    method the document does not list (405)."""
    statuses = collections.Counter()
    for operation in api.operations():
        config = api.schema.config.generation_for(operation=operation)
        for case in api.schema.iter_coverage_cases(
            operation, generation_modes=list(schemathesis.GenerationMode), generation_config=config
        ):
            response = case.call_and_validate()
            statuses[(case.method, response.status_code)] += 1
    assert not any(status >= 500 for _, status in statuses)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert statuses[(method, 405)] >= 1, statuses
    assert statuses[("GET", 401)] >= 3, statuses


def test_pages_of_a_real_plan_match_the_document(api):
    """Valid paging and status values on the plan with subscribers: always a 200 page. (A
    generated ``cursor`` is not one of ours: that is a 400, tested in test_api_cursors.py.)"""
    operation = api.schema[SUBSCRIBERS]["GET"]
    totals = set()

    @fuzz_settings(80)
    @given(case=operation.as_strategy(path_parameters={"plan_id": "pro"}))
    def check(case):
        if case.query:
            case.query.pop("cursor", None)
        response = case.call_and_validate()
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= body["page_size"]
        totals.add(body["total"])

    check()
    assert {45, 9} <= totals  # the whole plan, and one status of it


# --- Where the app and the document once disagreed ------------------------------------------------


def query_parameter(name: str) -> jsonschema.Draft202012Validator:
    operation = openapi_document()["paths"][SUBSCRIBERS]["get"]
    [parameter] = [p for p in operation["parameters"] if p["name"] == name]
    return jsonschema.Draft202012Validator(parameter["schema"])


@pytest.mark.parametrize("status", ["", " active "])
def test_a_status_the_document_refuses_is_refused(client, api, status):
    response = client.get(
        SUBSCRIBERS.format(plan_id="pro"), query_string={"status": status}, headers=api.headers
    )
    assert (response.status_code == 200) == query_parameter("status").is_valid(status)


@pytest.mark.parametrize("name", ["page", "page_size"])
def test_a_paging_value_the_document_accepts_is_accepted(client, api, name):
    response = client.get(
        SUBSCRIBERS.format(plan_id="pro"), query_string={name: "2\x00"}, headers=api.headers
    )
    assert (response.status_code == 200) == query_parameter(name).is_valid("2\x00")
