"""The subscription endpoints of the API (issue 14): one subscription with its ETag, each action
of the subscription pages and each of its refusals, the original's GET / PUT
/users/<user_id>/subscription; on the same service as the pages (audit entries with the token as
actor), with If-Match, Idempotency-Key, JSON-only bodies and a size limit. Every answer is
checked against the OpenAPI document."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import AuditLog, Subscription
from tests.helpers import (
    ADMIN_EMAIL,
    ApiClient,
    add_plan,
    add_subscription,
    current_price_id,
    make_token,
)

BILLING = "/api/v1/admin/billing"
NOW = 1_800_000_000
START, END = 1_700_000_000, 1_702_592_000  # tests/helpers.add_subscription's period
DAY = 86_400
TOKEN_ACTOR = f"{ADMIN_EMAIL} (API token 'ci')"
ACTION_OPERATIONS = {
    "change-plan": "changeSubscriptionPlan",
    "cancel": "cancelSubscription",
    "cancel-at-period-end": "scheduleSubscriptionCancel",
    "resume-renewal": "resumeSubscriptionRenewal",
    "pause": "pauseSubscription",
    "resume": "resumeSubscription",
    "extend": "extendSubscription",
}


class Api(ApiClient):
    """The subscription endpoints, with a token; each answer is checked against the OpenAPI
    document."""

    def get(self, subscription_id):
        return self.call("getSubscription", "GET", f"{BILLING}/subscriptions/{subscription_id}")

    def act(self, subscription_id, slug, body=None, **kwargs):
        if body is not None:
            kwargs["json"] = body
        return self.call(
            ACTION_OPERATIONS[slug],
            "POST",
            f"{BILLING}/subscriptions/{subscription_id}/{slug}",
            **kwargs,
        )

    def user_subscription(self, user_id):
        return self.call("getUserSubscription", "GET", f"{BILLING}/users/{user_id}/subscription")

    def change_user_plan(self, user_id, body, **kwargs):
        return self.call(
            "changeUserPlan", "PUT", f"{BILLING}/users/{user_id}/subscription", json=body, **kwargs
        )


@pytest.fixture
def api(app, admin, runner, client, set_clock) -> Api:
    set_clock(NOW)
    add_plan("pro")
    add_plan("business", price=Decimal("4990.00"))
    add_plan("legacy", price=Decimal("99.00"), is_active=False)
    return Api(client, make_token(runner, scope="write"))


def subscription(status: str = "active", plan_id: str = "pro", **fields) -> Subscription:
    made = add_subscription(plan_id, status, **fields)
    db.session.commit()
    return made


def stored(subscription_id: str) -> Subscription:
    db.session.rollback()
    return db.session.get(Subscription, subscription_id)


def etag(sub: Subscription, version: int) -> str:
    """The subscription's ETag at ``version``: its id and version (api/http.py)."""
    return f'"{sub.id}-v{version}"'


def entries(subscription_id: str | None = None) -> list[AuditLog]:
    db.session.rollback()
    query = sa.select(AuditLog).where(AuditLog.entity_type == "subscription")
    if subscription_id is not None:
        query = query.where(AuditLog.entity_id == subscription_id)
    return list(db.session.scalars(query.order_by(AuditLog.id)))


# --- Reading ---------------------------------------------------------------------------------


def test_get_answers_the_subscription_with_its_etag_and_the_actions_that_apply(api):
    sub = subscription(cancel_at_period_end=True)
    response = api.get(sub.id)
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(sub, 1)
    body = response.get_json()
    assert (body["id"], body["plan_id"], body["status"], body["version"]) == (
        sub.id,
        "pro",
        "active",
        1,
    )
    assert (body["current_period_start"], body["current_period_end"]) == (START, END)
    assert body["price"] == {
        "id": current_price_id("pro"),
        "amount": "1490.00",
        "currency": "RUB",
        "interval": "month",
        "current": True,
    }
    assert body["plan"] == {"name": "Pro", "is_active": True}
    assert body["user"]["name"] == "Test User"
    assert body["available_actions"] == [
        "change-plan",
        "cancel",
        "resume-renewal",
        "pause",
        "extend",
    ]


def test_a_canceled_subscription_offers_no_action(api):
    assert api.get(subscription("canceled").id).get_json()["available_actions"] == []


def test_get_of_an_unknown_subscription_is_404(api):
    response = api.get("nope")
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Subscription 'nope' not found"}


# --- Each action's success ---------------------------------------------------------------------


def test_change_plan_moves_to_the_new_plans_price_keeps_the_period_and_audits_the_token(api):
    sub = subscription()
    old_price = current_price_id("pro")
    response = api.act(sub.id, "change-plan", {"plan_id": "business"})
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(sub, 2)
    body = response.get_json()
    assert body["action"] == "subscription_plan_changed"
    assert body["dry_run"] is False
    assert body["subscription"]["plan_id"] == "business"
    assert body["subscription"]["current_period_end"] == END
    assert body["changes"] == {
        "plan_id": {"old": "pro", "new": "business"},
        "price_id": {"old": old_price, "new": current_price_id("business")},
    }
    assert (body["prices"]["old"]["amount"], body["prices"]["new"]["amount"]) == (
        "1490.00",
        "4990.00",
    )
    [entry] = entries(sub.id)
    assert entry.id == body["audit_entry_id"]
    assert entry.action == "subscription_plan_changed"
    assert entry.actor == TOKEN_ACTOR
    row = stored(sub.id)
    assert (row.plan_id, row.version, row.current_period_end) == ("business", 2, END)


def test_change_plan_to_an_inactive_plan_needs_allow_inactive(api):
    sub = subscription()
    refused = api.act(sub.id, "change-plan", {"plan_id": "legacy"})
    assert refused.status_code == 400
    assert refused.get_json()["code"] == "inactive_plan"
    done = api.act(sub.id, "change-plan", {"plan_id": "legacy", "allow_inactive": True})
    assert done.status_code == 200
    assert stored(sub.id).plan_id == "legacy"


def test_cancel_ends_the_subscription_now(api):
    sub = subscription(cancel_at_period_end=True)
    response = api.act(sub.id, "cancel")
    assert response.status_code == 200
    assert response.get_json()["changes"] == {
        "status": {"old": "active", "new": "canceled"},
        "cancel_at_period_end": {"old": True, "new": False},
        "canceled_at": {"old": None, "new": NOW},
    }
    row = stored(sub.id)
    assert (row.status, row.canceled_at, row.current_period_end) == ("canceled", NOW, END)
    assert [e.actor for e in entries(sub.id)] == [TOKEN_ACTOR]


def test_cancel_at_period_end_then_resume_renewal(api):
    sub = subscription()
    first = api.act(sub.id, "cancel-at-period-end")
    assert first.status_code == 200
    assert stored(sub.id).cancel_at_period_end is True
    second = api.act(sub.id, "resume-renewal", headers={"If-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert second.headers["ETag"] == etag(sub, 3)
    assert stored(sub.id).cancel_at_period_end is False
    assert [e.action for e in entries(sub.id)] == [
        "subscription_cancel_scheduled",
        "subscription_renewal_resumed",
    ]


def test_pause_then_resume(api):
    sub = subscription()
    assert api.act(sub.id, "pause", {}).status_code == 200
    assert stored(sub.id).status == "paused"
    assert api.act(sub.id, "resume").status_code == 200
    assert stored(sub.id).status == "active"
    assert [e.action for e in entries(sub.id)] == ["subscription_paused", "subscription_unpaused"]


def test_extend_adds_days_and_moves_a_trials_end(api):
    sub = subscription("trialing", trial_end=END)
    response = api.act(sub.id, "extend", {"days": 30})
    assert response.status_code == 200
    row = stored(sub.id)
    assert (row.current_period_end, row.trial_end) == (END + 30 * DAY, END + 30 * DAY)
    [entry] = entries(sub.id)
    assert entry.audit_metadata["days"] == 30


def test_a_dry_run_says_what_would_change_and_changes_nothing(api):
    sub = subscription()
    response = api.act(sub.id, "extend", {"days": 7, "dry_run": True})
    assert response.status_code == 200
    body = response.get_json()
    assert body["dry_run"] is True and body["audit_entry_id"] is None
    assert body["changes"] == {"current_period_end": {"old": END, "new": END + 7 * DAY}}
    assert response.headers["ETag"] == etag(sub, 1)  # the version checked: nothing changed
    assert stored(sub.id).current_period_end == END
    assert entries() == []


# --- Each refusal ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fields", "slug", "body", "code", "field"),
    [
        ("active", {}, "change-plan", {"plan_id": "pro"}, "same_plan", "plan_id"),
        ("active", {}, "change-plan", {"plan_id": "nope"}, "unknown_plan", "plan_id"),
        ("active", {}, "change-plan", {"plan_id": " "}, "invalid_input", "plan_id"),
        ("canceled", {}, "change-plan", {"plan_id": "business"}, "canceled", None),
        ("canceled", {}, "cancel", None, "already_canceled", None),
        ("canceled", {}, "cancel-at-period-end", None, "canceled", None),
        ("active", {"cancel_at_period_end": True}, "cancel-at-period-end", None,
         "already_scheduled", None),
        ("active", {}, "resume-renewal", None, "not_scheduled", None),
        ("canceled", {}, "resume-renewal", None, "canceled", None),
        ("trialing", {}, "pause", None, "not_active", None),
        ("past_due", {}, "pause", None, "not_active", None),
        ("canceled", {}, "pause", None, "canceled", None),
        ("active", {}, "resume", None, "not_paused", None),
        ("canceled", {}, "resume", None, "canceled", None),
        ("active", {}, "extend", {"days": 0}, "days_out_of_range", "days"),
        ("active", {}, "extend", {"days": 367}, "days_out_of_range", "days"),
        ("canceled", {}, "extend", {"days": 3}, "canceled", None),
    ],
)  # fmt: skip
def test_a_rule_refusal_is_400_with_its_detail_code_and_field_and_writes_nothing(
    api, status, fields, slug, body, code, field
):
    sub = subscription(status, **fields)
    response = api.act(sub.id, slug, body)
    assert response.status_code == 400
    answer = response.get_json()
    assert (answer["code"], answer["field"]) == (code, field)
    assert answer["detail"]
    assert stored(sub.id).version == 1
    assert entries() == []


def test_the_refusal_detail_is_the_services_message(api):
    sub = subscription("paused")
    response = api.act(sub.id, "pause")
    assert response.get_json() == {
        "detail": "The subscription is already paused.",
        "code": "not_active",
        "field": None,
    }


@pytest.mark.parametrize("slug", list(ACTION_OPERATIONS))
def test_every_action_on_an_unknown_subscription_is_404(api, slug):
    body = {"plan_id": "pro"} if slug == "change-plan" else {"days": 1} if slug == "extend" else {}
    response = api.act("nope", slug, body)
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Subscription 'nope' not found"}


# --- Bodies ------------------------------------------------------------------------------------


def test_unknown_fields_are_422_naming_them(api):
    sub = subscription()
    response = api.act(sub.id, "pause", {"reason": "x", "dry_run": False})
    assert response.status_code == 422
    assert response.get_json() == {
        "detail": [
            {"loc": ["body", "reason"], "msg": "Extra inputs are not permitted",
             "type": "extra_forbidden"}
        ]
    }  # fmt: skip
    assert stored(sub.id).status == "active"


def test_wrong_types_and_missing_fields_are_422_in_fastapis_shape(api):
    sub = subscription()
    missing = api.act(sub.id, "change-plan")
    assert [(i["loc"], i["type"]) for i in missing.get_json()["detail"]] == [
        (["body", "plan_id"], "missing")
    ]
    wrong = api.act(sub.id, "extend", {"days": "7", "dry_run": "yes"})
    assert wrong.status_code == 422
    assert {(tuple(i["loc"]), i["type"]) for i in wrong.get_json()["detail"]} == {
        (("body", "days"), "int_type"),
        (("body", "dry_run"), "bool_type"),
    }
    not_an_object = api.act(sub.id, "cancel", [1])
    assert not_an_object.status_code == 422
    assert not_an_object.get_json()["detail"][0]["loc"] == ["body"]
    assert stored(sub.id).version == 1


def test_a_body_that_is_not_json_is_415(api):
    sub = subscription()
    response = api.act(sub.id, "pause", data="x", content_type="text/plain")
    assert response.status_code == 415
    assert stored(sub.id).status == "active"


def test_a_body_over_64_kib_is_413(api):
    sub = subscription()
    response = api.act(sub.id, "change-plan", {"plan_id": "x" * (64 * 1024)})
    assert response.status_code == 413
    assert stored(sub.id).version == 1


# --- If-Match ----------------------------------------------------------------------------------


def test_if_match_with_the_current_version_acts(api):
    sub = subscription()
    response = api.act(sub.id, "pause", headers={"If-Match": etag(sub, 1)})
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(sub, 2)


@pytest.mark.parametrize("if_match", ['"{sid}-v1"', 'W/"{sid}-v2"', '"v2"', "garbage"])
def test_a_stale_if_match_is_412_with_the_current_subscription(api, if_match):
    """A tag of another version, a weak one, one in the old format without the id (it names no
    subscription: tests/test_api_body_edges.py) or no tag at all: 412."""
    sub = subscription()
    assert api.act(sub.id, "extend", {"days": 1}).status_code == 200
    response = api.act(sub.id, "pause", headers={"If-Match": if_match.format(sid=sub.id)})
    assert response.status_code == 412
    assert response.headers["ETag"] == etag(sub, 2)
    body = response.get_json()
    assert (body["id"], body["status"], body["current_period_end"]) == (sub.id, "active", END + DAY)
    assert stored(sub.id).status == "active"
    assert len(entries()) == 1


def test_if_match_star_acts(api):
    sub = subscription()
    assert api.act(sub.id, "pause", headers={"If-Match": "*"}).status_code == 200


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_the_same_key_and_body_extend_once_and_replay_the_answer(api):
    sub = subscription()
    headers = {"Idempotency-Key": "extend-7"}
    first = api.act(sub.id, "extend", {"days": 7}, headers=headers)
    again = api.act(sub.id, "extend", {"days": 7}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"] == etag(sub, 2)
    assert stored(sub.id).current_period_end == END + 7 * DAY
    assert len(entries()) == 1


def test_the_same_key_with_another_body_is_422_and_does_nothing(api):
    sub = subscription()
    headers = {"Idempotency-Key": "k"}
    assert api.act(sub.id, "extend", {"days": 7}, headers=headers).status_code == 200
    response = api.act(sub.id, "extend", {"days": 8}, headers=headers)
    assert response.status_code == 422
    assert "different request" in response.get_json()["detail"]
    assert stored(sub.id).current_period_end == END + 7 * DAY


# --- The original's /users/<user_id>/subscription ------------------------------------------------


def test_a_users_subscription_is_their_newest_not_canceled(api):
    older = subscription(created_at=NOW - 300)
    db.session.add(
        Subscription(
            user_id=older.user_id,
            plan_id="business",
            status="canceled",
            current_period_start=START,
            current_period_end=END,
            created_at=NOW - 100,
        )
    )
    db.session.commit()
    response = api.user_subscription(older.user_id)
    assert response.status_code == 200
    assert response.get_json()["id"] == older.id
    assert response.headers["ETag"] == etag(older, 1)


def test_a_user_without_a_current_subscription_or_unknown_is_404(api):
    gone = subscription("canceled")
    none = api.user_subscription(gone.user_id)
    assert none.status_code == 404
    assert none.get_json() == {"detail": f"User '{gone.user_id}' has no current subscription"}
    unknown = api.user_subscription("nobody")
    assert unknown.get_json() == {"detail": "User 'nobody' not found"}
    assert api.change_user_plan(gone.user_id, {"plan_id": "business"}).status_code == 404
    assert api.change_user_plan("nobody", {"plan_id": "business"}).status_code == 404
    assert entries() == []


def test_put_changes_the_plan_keeping_the_period(api):
    sub = subscription()
    response = api.change_user_plan(
        sub.user_id,
        {"plan_id": "business", "reset_usage": False},
        headers={"If-Match": etag(sub, 1)},
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == etag(sub, 2)
    body = response.get_json()
    assert (body["id"], body["plan_id"], body["current_period_start"]) == (
        sub.id,
        "business",
        START,
    )
    assert body["price"]["amount"] == "4990.00"
    [entry] = entries(sub.id)
    assert (entry.action, entry.actor) == ("subscription_plan_changed", TOKEN_ACTOR)


def test_put_with_a_stale_if_match_is_412(api):
    sub = subscription()
    response = api.change_user_plan(
        sub.user_id, {"plan_id": "business"}, headers={"If-Match": etag(sub, 7)}
    )
    assert response.status_code == 412
    assert response.get_json()["plan_id"] == "pro"
    assert entries() == []


def test_put_refusals(api):
    sub = subscription()
    same = api.change_user_plan(sub.user_id, {"plan_id": "pro"})
    assert (same.status_code, same.get_json()["code"]) == (400, "same_plan")
    reset = api.change_user_plan(sub.user_id, {"plan_id": "business", "reset_usage": True})
    assert reset.status_code == 422
    assert [i["loc"] for i in reset.get_json()["detail"]] == [["body", "reset_usage"]]
    extra = api.change_user_plan(sub.user_id, {"plan_id": "business", "period": "new"})
    assert [i["loc"] for i in extra.get_json()["detail"]] == [["body", "period"]]
    no_body = api.call(
        "changeUserPlan", "PUT", f"{BILLING}/users/{sub.user_id}/subscription", data="plan"
    )
    assert no_body.status_code == 415
    assert stored(sub.id).plan_id == "pro"


# --- Who may ---------------------------------------------------------------------------------


def test_a_read_token_may_read_a_subscription_but_not_act(app, api, runner, client):
    sub = subscription()
    reader = Api(client, make_token(runner, "reader", scope="read"))
    assert reader.get(sub.id).status_code == 200
    response = reader.act(sub.id, "cancel")
    assert response.status_code == 403
    assert "scope 'read'" in response.get_json()["detail"]
    assert stored(sub.id).status == "active"


def test_a_session_action_needs_the_csrf_token(app, api, admin_client, auth):
    sub = subscription()
    url = f"{BILLING}/subscriptions/{sub.id}/pause"
    assert admin_client.post(url).status_code == 400
    token = auth.csrf_token("/admin/")
    assert admin_client.post(url, headers={"X-CSRFToken": token}).status_code == 200
    [entry] = entries(sub.id)
    assert entry.actor == ADMIN_EMAIL
