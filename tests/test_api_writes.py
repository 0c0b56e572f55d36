"""The plan writes of the API (issue 14): each endpoint's success and each refusal, on the same
service as the pages (audit entries, rules), with scoped tokens, If-Match, Idempotency-Key,
JSON-only bodies and a size limit; every answer is checked against the OpenAPI document."""

import json

import pytest
import sqlalchemy as sa

from billing_admin.api.subscriptions import API_ACTIONS
from billing_admin.extensions import db
from billing_admin.models import AuditLog, IdempotencyKey, Plan, Price, Subscription
from tests.helpers import (
    ADMIN_EMAIL,
    ApiClient,
    add_plan,
    add_subscription,
    bearer,
    current_price_id,
    make_token,
)

PLANS = "/api/v1/admin/billing/plans"


class Api(ApiClient):
    """The plan endpoints, with a token; each answer is checked against the OpenAPI document."""

    def create(self, body, **kwargs):
        return self.call("createPlan", "POST", PLANS, json=body, **kwargs)

    def update(self, plan_id, body, **kwargs):
        return self.call("updatePlan", "PUT", f"{PLANS}/{plan_id}", json=body, **kwargs)

    def delete(self, plan_id, **kwargs):
        return self.call("deletePlan", "DELETE", f"{PLANS}/{plan_id}", **kwargs)

    def toggle(self, plan_id, **kwargs):
        return self.call("togglePlan", "PATCH", f"{PLANS}/{plan_id}/toggle", **kwargs)

    def duplicate(self, plan_id, **kwargs):
        return self.call("duplicatePlan", "POST", f"{PLANS}/{plan_id}/duplicate", **kwargs)

    def get(self, plan_id):
        return self.call("getPlan", "GET", f"{PLANS}/{plan_id}")


@pytest.fixture
def api(app, admin, runner, client) -> Api:
    return Api(client, make_token(runner, scope="write"))


def audit_entries(action: str | None = None) -> list[AuditLog]:
    db.session.rollback()
    query = sa.select(AuditLog).where(AuditLog.entity_type == "plan").order_by(AuditLog.id)
    if action:
        query = query.where(AuditLog.action == action)
    return list(db.session.scalars(query))


def plan_count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Plan))


NEW_PLAN = {
    "id": "team",
    "name": "Team",
    "name_ru": "Команда",
    "price": "990.00",
    "interval": "month",
    "quotas": {"tokens_input": 1000, "tokens_output": 500, "requests": None},
    "features": ["GPT-4o", "Claude"],
    "display_order": 3,
}


# --- Create ---------------------------------------------------------------------------------


def test_create_makes_the_plan_answers_it_with_its_etag_and_audits_the_token(api):
    response = api.create(NEW_PLAN)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["id"], body["name"], body["price"], body["currency"]) == (
        "team",
        "Team",
        "990.00",
        "RUB",
    )
    assert body["quotas"] == {"tokens_input": 1000, "tokens_output": 500, "requests": None}
    assert body["is_active"] is True and body["version"] == 1
    assert response.headers["ETag"] == '"v1"'
    [entry] = audit_entries("plan_created")
    assert entry.entity_id == "team"
    assert entry.actor == f"{ADMIN_EMAIL} (API token 'ci')"
    assert entry.changes["price"] == {"old": None, "new": "990.00"}


def test_create_without_an_id_derives_one_from_the_name_by_our_rule(api):
    first = api.create({"name": "Команда Pro+", "price": 10})
    second = api.create({"name": "Команда Pro+", "price": 10})
    assert first.get_json()["id"] == "komanda_pro"
    assert second.get_json()["id"] == "komanda_pro_2"
    assert first.get_json()["interval"] == "month"


def test_create_with_an_id_that_exists_is_the_originals_400(api):
    add_plan("pro")
    response = api.create({**NEW_PLAN, "id": "pro"})
    assert response.status_code == 400
    assert response.get_json() == {"detail": "Plan with ID 'pro' already exists"}
    assert audit_entries("plan_created") == []


def test_validation_errors_are_422_in_fastapis_shape_with_every_fields_errors(api):
    response = api.create(
        {
            "id": "Bad Id",
            "name": "",
            "price": -1,
            "currency": "GBP",
            "interval": "fortnight",
            "display_order": "3",
            "is_active": "yes",
        }
    )
    assert response.status_code == 422
    detail = response.get_json()["detail"]
    by_field = {tuple(item["loc"]): item for item in detail}
    assert set(by_field) == {
        ("body", "id"),
        ("body", "name"),
        ("body", "price"),
        ("body", "currency"),
        ("body", "interval"),
        ("body", "display_order"),
        ("body", "is_active"),
    }
    assert by_field[("body", "price")] == {
        "loc": ["body", "price"],
        "msg": "Must be 0 or more.",
        "type": "value_error",
    }
    assert by_field[("body", "display_order")]["type"] == "int_type"
    assert by_field[("body", "is_active")]["type"] == "bool_type"
    assert by_field[("body", "currency")]["msg"] == "Must be one of RUB, USD, EUR."
    assert plan_count() == 0


def test_a_missing_field_is_named(api):
    response = api.create({"id": "x"})
    assert response.status_code == 422
    missing = {tuple(i["loc"]) for i in response.get_json()["detail"] if i["type"] == "missing"}
    assert missing == {("body", "name"), ("body", "price")}


def test_unknown_fields_are_422_naming_them(api):
    response = api.create({**NEW_PLAN, "colour": "red", "prise": 1})
    assert response.status_code == 422
    assert [(i["loc"], i["type"]) for i in response.get_json()["detail"]] == [
        (["body", "colour"], "extra_forbidden"),
        (["body", "prise"], "extra_forbidden"),
    ]
    assert plan_count() == 0


@pytest.mark.parametrize(
    ("price", "kind"),
    [
        (True, "decimal_type"),
        ("1e3", "decimal_parsing"),
        ("١٢", "decimal_parsing"),
        ([], "decimal_type"),
    ],
)
def test_a_price_is_a_number_or_a_plain_decimal_string(api, price, kind):
    response = api.create({**NEW_PLAN, "price": price})
    assert response.status_code == 422
    assert [(i["loc"], i["type"]) for i in response.get_json()["detail"]] == [
        (["body", "price"], kind)
    ]


def test_a_body_that_is_not_an_object_is_422(api):
    response = api.create([1, 2])
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body"]


def test_an_id_with_a_trailing_newline_is_refused(api):
    response = api.create({**NEW_PLAN, "id": "team\n"})
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "id"]


# --- Update ---------------------------------------------------------------------------------


def test_update_changes_only_the_fields_sent_and_null_clears(api):
    add_plan("pro", name_ru="Про", description="Old", plan_extra_metadata={"a": 1})
    response = api.update("pro", {"description": None, "name_ru": "Профи", "quotas": None})
    assert response.status_code == 200
    body = response.get_json()
    assert body["description"] is None
    assert body["name_ru"] == "Профи"
    assert body["quotas"] is None  # unlimited
    assert body["plan_extra_metadata"] == {"a": 1}  # not sent: kept
    assert body["features"] == ["GPT-4o"]
    assert response.headers["ETag"] == '"v2"'
    [entry] = audit_entries("plan_updated")
    assert set(entry.changes) == {"description", "name_ru", "quotas"}


def test_null_for_a_field_that_cannot_be_empty_is_422(api):
    add_plan("pro")
    response = api.update("pro", {"name": None, "price": None})
    assert response.status_code == 422
    assert {tuple(i["loc"]) for i in response.get_json()["detail"]} == {
        ("body", "name"),
        ("body", "price"),
    }


def test_lowering_a_quota_under_active_subscriptions_is_the_originals_400(api):
    add_plan("pro")
    add_subscription("pro")
    db.session.commit()
    response = api.update("pro", {"quotas": {"tokens_input": 10, "tokens_output": 2_000_000}})
    assert response.status_code == 400
    assert response.get_json() == {
        "detail": "Cannot decrease quota 'tokens_input' from 5000000 to 10 while plan has "
        "active subscriptions. Create a new plan instead."
    }
    assert audit_entries("plan_updated") == []


def test_a_price_change_opens_a_new_price_and_subscribers_keep_theirs(api):
    add_plan("pro")
    subscription = add_subscription("pro")
    db.session.commit()
    old_price = current_price_id("pro")
    response = api.update("pro", {"price": 1990})
    assert response.status_code == 200
    body = response.get_json()
    assert body["price"] == "1990.00"
    assert [p["amount"] for p in body["prices"]] == ["1990.00", "1490.00"]
    db.session.rollback()
    assert db.session.get(type(subscription), subscription.id).price_id == old_price
    [entry] = audit_entries("plan_updated")
    assert entry.audit_metadata["price_id"] == {"old": old_price, "new": current_price_id("pro")}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Price)) == 2


def test_an_update_that_changes_nothing_writes_nothing(api):
    add_plan("pro")
    response = api.update("pro", {"name": "Pro"})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"v1"'
    assert audit_entries() == []


def test_update_of_an_unknown_plan_is_404(api):
    response = api.update("nope", {"name": "X"})
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Plan 'nope' not found"}


# --- If-Match -------------------------------------------------------------------------------


def test_if_match_with_the_current_version_saves(api):
    add_plan("pro")
    response = api.update("pro", {"name": "Pro 2"}, headers={"If-Match": '"v1"'})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"v2"'


@pytest.mark.parametrize("if_match", ['"v1"', 'W/"v2"', "v2", '"2"', "garbage"])
def test_a_stale_or_foreign_if_match_is_412_with_the_current_plan(api, if_match):
    add_plan("pro")
    assert api.update("pro", {"name": "Pro 2"}).status_code == 200
    for call in (
        lambda: api.update("pro", {"name": "Pro 3"}, headers={"If-Match": if_match}),
        lambda: api.toggle("pro", headers={"If-Match": if_match}),
        lambda: api.delete("pro", headers={"If-Match": if_match}),
    ):
        response = call()
        assert response.status_code == 412
        assert response.headers["ETag"] == '"v2"'
        assert response.get_json()["name"] == "Pro 2"
    assert len(audit_entries()) == 1
    assert plan_count() == 1


def test_if_match_star_or_a_list_holding_the_current_version_saves(api):
    add_plan("pro")
    assert api.toggle("pro", headers={"If-Match": "*"}).status_code == 200
    assert api.toggle("pro", headers={"If-Match": '"v1", "v2"'}).status_code == 200


# --- Toggle, duplicate, delete --------------------------------------------------------------


def test_toggle_flips_and_audits_each_way(api):
    add_plan("pro")
    first = api.toggle("pro")
    second = api.toggle("pro")
    assert (first.get_json()["is_active"], second.get_json()["is_active"]) == (False, True)
    assert [e.action for e in audit_entries()] == ["plan_deactivated", "plan_activated"]
    assert second.headers["ETag"] == '"v3"'


def test_toggle_of_an_unknown_plan_is_404(api):
    assert api.toggle("nope").status_code == 404


def test_duplicate_makes_an_inactive_copy(api):
    add_plan("pro", name_ru="Про", display_order=2, plan_extra_metadata={"promo": True})
    response = api.duplicate("pro")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["id"], body["name"], body["name_ru"]) == ("pro_copy", "Pro (Copy)", "Про (Копия)")
    assert (body["is_active"], body["display_order"], body["plan_extra_metadata"]) == (
        False,
        3,
        None,
    )
    [entry] = audit_entries("plan_duplicated")
    assert entry.audit_metadata == {"source_plan_id": "pro"}
    assert api.duplicate("nope").status_code == 404


def test_delete_answers_as_the_original(api):
    add_plan("pro")
    response = api.delete("pro")
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "message": "Plan 'pro' deleted"}
    assert plan_count() == 0
    assert [e.action for e in audit_entries()] == ["plan_deleted"]
    assert api.delete("pro").status_code == 404


def test_deleting_a_plan_with_active_subscriptions_is_the_originals_400(api):
    add_plan("pro")
    add_subscription("pro")
    add_subscription("pro", status="canceled")
    db.session.commit()
    response = api.delete("pro")
    assert response.status_code == 400
    assert response.get_json() == {
        "detail": "Cannot delete plan with 1 active subscriptions. Deactivate the plan instead."
    }
    assert plan_count() == 1


def test_deleting_a_plan_only_canceled_subscriptions_refer_to_is_refused(api):
    add_plan("pro")
    add_subscription("pro", status="canceled")
    db.session.commit()
    response = api.delete("pro")
    assert response.status_code == 400
    assert "none active" in response.get_json()["detail"]


# --- Requests a browser never sends ---------------------------------------------------------


def test_a_body_that_is_not_json_is_415(api):
    response = api.call(
        "createPlan",
        "POST",
        PLANS,
        data="name=x&price=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert response.get_json() == {
        "detail": "Send the body as JSON, with 'Content-Type: application/json'."
    }


def test_json_that_does_not_parse_is_400(api):
    response = api.call(
        "createPlan", "POST", PLANS, data='{"name": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("The body is not valid JSON")


def test_a_body_over_64_kib_is_413_and_nothing_is_written(api):
    body = {**NEW_PLAN, "description": "x" * (64 * 1024)}
    response = api.create(body)
    assert response.status_code == 413
    assert response.get_json() == {
        "detail": "The request body is larger than 64 KiB, the API's limit."
    }
    assert plan_count() == 0


def test_a_body_sent_to_toggle_must_still_be_json(api):
    add_plan("pro")
    response = api.call(
        "togglePlan", "PATCH", f"{PLANS}/pro/toggle", data="x", content_type="text/plain"
    )
    assert response.status_code == 415
    assert api.toggle("pro", json={}).status_code == 200


def test_a_session_write_needs_the_csrf_token_and_a_bearer_write_does_not(
    app, admin_client, auth, api
):
    add_plan("pro")
    refused = admin_client.patch(f"{PLANS}/pro/toggle")
    assert refused.status_code == 400
    assert refused.get_json() == {
        "detail": "The CSRF token is missing or invalid: a write made with a browser session "
        "must send the page's CSRF token in the X-CSRFToken header (or use a Bearer token)."
    }
    token = auth.csrf_token("/admin/")
    allowed = admin_client.patch(f"{PLANS}/pro/toggle", headers={"X-CSRFToken": token})
    assert allowed.status_code == 200
    [entry] = audit_entries("plan_deactivated")
    assert entry.actor == ADMIN_EMAIL
    assert api.toggle("pro").status_code == 200  # no CSRF for a Bearer token


# --- Idempotency-Key ------------------------------------------------------------------------


def test_the_same_key_and_body_return_the_first_answer_without_doing_it_twice(api):
    headers = {"Idempotency-Key": "create-team-1"}
    first = api.create(NEW_PLAN, headers=headers)
    again = api.create(dict(reversed(NEW_PLAN.items())), headers=headers)  # key order: same body
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert plan_count() == 1
    assert len(audit_entries("plan_created")) == 1


def test_the_same_key_with_another_body_is_422_and_does_nothing(api):
    headers = {"Idempotency-Key": "k1"}
    assert api.create(NEW_PLAN, headers=headers).status_code == 200
    response = api.create({**NEW_PLAN, "id": "team2"}, headers=headers)
    assert response.status_code == 422
    assert "different request" in response.get_json()["detail"]
    assert plan_count() == 1


def test_a_refusal_is_replayed_too(api):
    add_plan("pro")
    headers = {"Idempotency-Key": "dup-pro"}
    first = api.create({**NEW_PLAN, "id": "pro"}, headers=headers)
    db.session.execute(sa.delete(Plan))
    db.session.commit()
    again = api.create({**NEW_PLAN, "id": "pro"}, headers=headers)
    assert (first.status_code, again.status_code) == (400, 400)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert plan_count() == 0


def test_keys_belong_to_their_token(api, runner, client):
    other = Api(client, make_token(runner, "other", scope="write"))
    headers = {"Idempotency-Key": "same"}
    assert api.create(NEW_PLAN, headers=headers).status_code == 200
    response = other.create({**NEW_PLAN, "id": "team2"}, headers=headers)
    assert response.status_code == 200
    assert plan_count() == 2


def test_a_key_expires_after_24_hours_and_is_purged(api, runner, set_clock):
    set_clock(1_800_000_000)
    headers = {"Idempotency-Key": "k"}
    assert api.create(NEW_PLAN, headers=headers).status_code == 200
    set_clock(1_800_000_000 + 24 * 3600)
    response = api.create({**NEW_PLAN, "id": "team2"}, headers=headers)
    assert response.status_code == 200  # a new request: the old key had expired
    set_clock(1_800_000_000 + 24 * 3600 + 60)
    api.duplicate("team", headers={"Idempotency-Key": "d"})
    set_clock(1_800_000_000 + 48 * 3600 + 1)
    result = runner.invoke(args=["purge-idempotency-keys"])
    assert result.output == "purged 1 expired idempotency keys\n"
    db.session.rollback()
    assert [k.key for k in db.session.scalars(sa.select(IdempotencyKey))] == ["d"]


def test_a_bad_key_is_400(api):
    response = api.create(NEW_PLAN, headers={"Idempotency-Key": "has space"})
    assert response.status_code == 400
    assert plan_count() == 0


def test_a_key_on_duplicate_makes_one_copy(api):
    add_plan("pro")
    headers = {"Idempotency-Key": "dup"}
    first = api.duplicate("pro", headers=headers)
    again = api.duplicate("pro", headers=headers)
    assert first.get_json()["id"] == again.get_json()["id"] == "pro_copy"
    assert plan_count() == 2


# --- Scopes ---------------------------------------------------------------------------------


def test_a_read_token_reads_and_is_refused_every_write_with_a_clear_detail(app, runner, client):
    from tests.helpers import add_user

    add_user(ADMIN_EMAIL, "x" * 16, role="admin")
    add_plan("pro")
    reader = Api(client, make_token(runner, "reader", scope="read"))
    assert reader.get("pro").status_code == 200
    response = reader.toggle("pro")
    assert response.status_code == 403
    assert response.get_json() == {
        "detail": "This token may only read (scope 'read'). Writes need a token made with "
        "'flask create-api-token --scope write'."
    }


def test_create_api_token_defaults_to_read_and_refuses_another_scope(app, admin, runner):
    result = runner.invoke(args=["create-api-token", "--name", "r", "--admin", ADMIN_EMAIL])
    assert result.exit_code == 0
    listing = runner.invoke(args=["list-api-tokens"]).output.splitlines()
    assert listing[1].split()[:3] == ["r", ADMIN_EMAIL, "read"]
    bad = runner.invoke(
        args=["create-api-token", "--name", "w", "--admin", ADMIN_EMAIL, "--scope", "admin"]
    )
    assert bad.exit_code == 2
    assert "'admin' is not one of 'read', 'write'" in bad.output


def test_the_idempotency_rows_hold_no_credentials(api):
    api.create(NEW_PLAN, headers={"Idempotency-Key": "k"})
    db.session.rollback()
    row = db.session.scalars(sa.select(IdempotencyKey)).one()
    assert row.owner.startswith("token:")
    assert "bat_" not in json.dumps({"body": row.response_body, "headers": row.response_headers})


def test_a_read_token_is_refused_on_every_write_route_of_the_url_map(app, admin, runner, client):
    """Every POST, PUT, PATCH and DELETE under /api/, plans' and subscriptions' (a URL-map walk, as the access guard's
    test does: a write route added later is checked too), and nothing is written."""
    from tests.test_access_guard import WRITE_METHODS, guarded_routes

    add_plan("x")
    add_subscription("x", id="x")
    db.session.commit()
    reader = bearer(make_token(runner, "reader", scope="read"))
    writes = [
        (endpoint, method, url)
        for endpoint, method, url in guarded_routes(app)
        if url.startswith("/api/") and method in WRITE_METHODS
    ]
    assert {e for e, _, _ in writes} >= {
        "api_plans.create_plan",
        "api_plans.update_plan",
        "api_plans.delete_plan",
        "api_plans.toggle_plan",
        "api_plans.duplicate_plan",
        "api_subscriptions.change_user_plan",
        *(f"api_subscriptions.{action.endpoint}" for action in API_ACTIONS),
    }
    before = audit_entries()
    for endpoint, method, url in writes:
        response = client.open(url, method=method, headers=reader, json={"name": "Changed"})
        assert response.status_code == 403, (endpoint, method)
        assert "scope 'read'" in response.get_json()["detail"], (endpoint, method)
    assert audit_entries() == before
    assert plan_count() == 1
    assert db.session.get(Subscription, "x").version == 1
