"""The edges of the API's JSON bodies and ETags (issue 14): a body nested too deep, a NUL
character, a key sent twice, and an ETag that names the subscription it was taken from. Each is
answered with a 4xx and a JSON ``detail`` (or 412) before any database work, on every write
that reads a body, with and without Idempotency-Key."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from billing_admin.api.http import MAX_JSON_DEPTH
from billing_admin.extensions import db
from billing_admin.models import AuditLog, IdempotencyKey, Plan, Subscription
from tests.helpers import add_plan, bearer, make_token
from tests.helpers import stored_subscription as stored
from tests.helpers import subscription_at_version_one as subscription

BILLING = "/api/v1/admin/billing"
NOW = 1_800_000_000
DAY = 86_400


@pytest.fixture
def plans(app, set_clock):
    set_clock(NOW)
    add_plan("pro")
    add_plan("business", price=Decimal("4990.00"))
    add_plan("legacy", price=Decimal("99.00"), is_active=False)


@pytest.fixture
def token(plans, admin, runner) -> dict[str, str]:
    return bearer(make_token(runner, scope="write"))


def entries(subscription_id: str | None = None) -> list[AuditLog]:
    """The audit entries about subscriptions (that one's) and plans: what a write leaves."""
    db.session.rollback()
    query = sa.select(AuditLog).where(AuditLog.entity_type.in_(("subscription", "plan")))
    if subscription_id is not None:
        query = query.where(
            AuditLog.entity_type == "subscription", AuditLog.entity_id == subscription_id
        )
    return list(db.session.scalars(query.order_by(AuditLog.id)))


def claimed_keys() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey))


def plan_version(plan_id: str) -> int:
    db.session.rollback()
    return db.session.get(Plan, plan_id).version


def assert_json_4xx(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    assert "detail" in response.get_json()


def send(client, token, method: str, url: str, body: str, headers=None):
    return client.open(
        url,
        method=method,
        data=body,
        headers={**token, **(headers or {}), "Content-Type": "application/json"},
    )


# Every write that reads a JSON body ({sid}: a subscription's id, {uid}: its user's).
WRITES = [
    ("POST", "/subscriptions/{sid}/pause", {}),
    ("POST", "/subscriptions/{sid}/pause", {"Idempotency-Key": "edge-1"}),
    ("POST", "/subscriptions/{sid}/extend", {}),
    ("PUT", "/users/{uid}/subscription", {}),
    ("PUT", "/users/{uid}/subscription", {"Idempotency-Key": "edge-2"}),
    ("POST", "/plans", {}),
    ("POST", "/plans", {"Idempotency-Key": "edge-3"}),
    ("PUT", "/plans/pro", {}),
    ("PATCH", "/plans/pro/toggle", {}),
    ("POST", "/plans/pro/duplicate", {"Idempotency-Key": "edge-4"}),
]


def assert_refused_and_nothing_written(response, sub: Subscription) -> None:
    assert_json_4xx(response)
    assert stored(sub.id).version == 1 and entries() == []
    assert plan_version("pro") == 1 and db.session.scalar(sa.select(sa.func.count(Plan.id))) == 3
    assert claimed_keys() == 0


# --- A body nested too deep --------------------------------------------------------------------


NESTED = '{"dry_run": ' + "[" * 20_000 + "]" * 20_000 + "}"  # 40 KB: under the 64 KiB limit


@pytest.mark.parametrize(
    "method, path, headers",
    [
        ("POST", "/subscriptions/{sid}/pause", {}),
        ("POST", "/subscriptions/{sid}/pause", {"Idempotency-Key": "nested-1"}),
        ("PUT", "/users/{uid}/subscription", {}),
    ],
)
def test_a_deeply_nested_json_body_is_a_400_not_a_500(token, client, method, path, headers):
    """A JSON body nested 20,000 deep (40 KB, under the API's 64 KiB limit) would make
    ``json.loads`` raise RecursionError, in api/http.py and in the Idempotency-Key fingerprint
    alike. It is answered 400 with a JSON ``detail``, as any body that is not valid JSON, and
    nothing is written."""
    sub = subscription()
    response = client.open(
        f"{BILLING}{path.format(sid=sub.id, uid=sub.user_id)}",
        method=method,
        data=NESTED,
        headers={**token, **headers, "Content-Type": "application/json"},
    )
    assert_json_4xx(response)
    assert stored(sub.id).version == 1 and entries(sub.id) == []


@pytest.mark.parametrize("method, path, headers", WRITES)
@pytest.mark.parametrize("depth", [20_000, MAX_JSON_DEPTH + 1])
def test_a_body_nested_past_the_limit_is_400_on_every_write(
    token, client, method, path, headers, depth
):
    """Past ``MAX_JSON_DEPTH`` levels, whether or not Python's parser could read it (a value
    900 deep would still break pydantic, the JSON column or ``jsonify`` later): 400, nothing
    written, no Idempotency-Key claimed."""
    sub = subscription()
    body = '{"quotas": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    response = send(
        client, token, method, f"{BILLING}{path.format(sid=sub.id, uid=sub.user_id)}", body, headers
    )
    assert response.status_code == 400
    assert "nested" in response.get_json()["detail"]
    assert_refused_and_nothing_written(response, sub)


def test_a_body_at_the_depth_limit_is_read(token, client):
    """``MAX_JSON_DEPTH`` levels exactly (the body's object is the first) are within the rule:
    the quota below is refused for its meaning (422), not its depth."""
    inner = "[" * (MAX_JSON_DEPTH - 2) + "]" * (MAX_JSON_DEPTH - 2)
    response = send(client, token, "PUT", f"{BILLING}/plans/pro", f'{{"quotas": {{"a": {inner}}}}}')
    assert response.status_code == 422, response.get_data()


# --- A NUL character ---------------------------------------------------------------------------


def test_a_nul_character_in_a_json_plan_id_is_refused_not_a_500(token, client):
    """A ``plan_id`` with U+0000 in a JSON body would reach the plan lookup, and PostgreSQL's
    driver refuses the text (a 500). The NUL guard of query strings and forms
    (security/input.py) has its match for JSON bodies in api/http.py: ``POST .../change-plan``
    and ``PUT /users/{id}/subscription`` answer a 4xx with a JSON ``detail``, nothing
    written."""
    sub = subscription()
    action = client.post(
        f"{BILLING}/subscriptions/{sub.id}/change-plan",
        headers=token,
        json={"plan_id": "busi\u0000ness"},
    )
    put = client.put(
        f"{BILLING}/users/{sub.user_id}/subscription",
        headers=token,
        json={"plan_id": "busi\u0000ness"},
    )
    assert_json_4xx(action)
    assert_json_4xx(put)
    assert stored(sub.id).plan_id == "pro" and entries(sub.id) == []


@pytest.mark.parametrize("method, path, headers", WRITES)
@pytest.mark.parametrize(
    "body",
    [
        '{"name": "Pro\\u0000"}',
        '{"quotas": {"api\\u0000calls": 5}}',
        '{"features": ["a", {"deep": ["x\\u0000"]}]}',
        '{"plan_id\\u0000": "business"}',
    ],
    ids=["value", "nested-key", "nested-value", "top-key"],
)
def test_a_nul_anywhere_in_a_json_body_is_400_on_every_write(
    token, client, method, path, headers, body
):
    """A NUL in any string of the body, key or value, at any depth: 400 naming NUL characters,
    before any database work (no Idempotency-Key claimed either)."""
    sub = subscription()
    response = send(
        client, token, method, f"{BILLING}{path.format(sid=sub.id, uid=sub.user_id)}", body, headers
    )
    assert response.status_code == 400
    assert "NUL" in response.get_json()["detail"]
    assert_refused_and_nothing_written(response, sub)


# --- A key sent twice --------------------------------------------------------------------------


def test_a_key_sent_twice_is_400_naming_it_and_nothing_is_extended(token, client):
    """``{"days": 500, "days": 5}`` would extend by 5 (the last wins in Python's parser): more
    likely a script's bug than its wish. Refused, naming the key."""
    sub = subscription()
    response = send(
        client,
        token,
        "POST",
        f"{BILLING}/subscriptions/{sub.id}/extend",
        '{"days": 500, "days": 5}',
    )
    assert response.status_code == 400
    assert "'days' twice" in response.get_json()["detail"]
    assert stored(sub.id).current_period_end == sub.current_period_end
    assert entries() == []


@pytest.mark.parametrize("method, path, headers", WRITES)
def test_a_key_sent_twice_anywhere_is_400_on_every_write(token, client, method, path, headers):
    sub = subscription()
    body = '{"quotas": {"seats": 5, "seats": 50}}'
    response = send(
        client, token, method, f"{BILLING}{path.format(sid=sub.id, uid=sub.user_id)}", body, headers
    )
    assert response.status_code == 400
    assert "'seats' twice" in response.get_json()["detail"]
    assert_refused_and_nothing_written(response, sub)


# --- ETags that name the subscription ----------------------------------------------------------


def test_put_with_the_etag_of_the_subscription_seen_does_not_change_a_newer_one(token, client):
    """``GET /users/{id}/subscription`` answers the user's newest live subscription; the
    platform then gives the user a newer subscription (also version 1). ``PUT`` with the ETag
    seen as ``If-Match`` must not change the NEW subscription, which the client never saw: the
    ETag names the subscription as well as its version (a strong ETag changes when the
    representation does), so the answer is 412 with the current subscription, nothing
    changed."""
    seen = subscription(created_at=NOW - 100)
    got = client.get(f"{BILLING}/users/{seen.user_id}/subscription", headers=token)
    assert got.get_json()["id"] == seen.id
    db.session.rollback()  # a fresh transaction: the request wrote since this session read
    newer = Subscription(
        user_id=seen.user_id,
        plan_id="pro",
        status="active",
        current_period_start=NOW,
        current_period_end=NOW + 30 * DAY,
        created_at=NOW,
    )
    db.session.add(newer)
    db.session.flush()
    newer_id = newer.id
    db.session.commit()
    response = client.put(
        f"{BILLING}/users/{seen.user_id}/subscription",
        headers={**token, "If-Match": got.headers["ETag"]},
        json={"plan_id": "business"},
    )
    assert response.status_code == 412
    assert stored(newer_id).plan_id == "pro" and stored(seen.id).plan_id == "pro"


def test_every_subscription_answer_has_the_etag_of_its_id_and_version(token, client):
    sub = subscription()
    etag = f'"{sub.id}-v1"'
    assert client.get(f"{BILLING}/subscriptions/{sub.id}", headers=token).headers["ETag"] == etag
    user = client.get(f"{BILLING}/users/{sub.user_id}/subscription", headers=token)
    assert user.headers["ETag"] == etag
    dry = client.post(
        f"{BILLING}/subscriptions/{sub.id}/pause", headers=token, json={"dry_run": True}
    )
    assert dry.headers["ETag"] == etag
    paused = client.post(
        f"{BILLING}/subscriptions/{sub.id}/pause", headers={**token, "If-Match": etag}
    )
    assert paused.status_code == 200 and paused.headers["ETag"] == f'"{sub.id}-v2"'


@pytest.mark.parametrize(
    "if_match",
    ['"v1"', 'W/"{sid}-v1"', '"{other}-v1"', '"{sid}-v1', "{sid}-v1"],
    ids=["old-format", "weak", "another-subscription", "unclosed", "unquoted"],
)
def test_an_if_match_naming_no_current_tag_is_412(token, client, if_match):
    """The old ``"v1"`` names no subscription: refused like a stale tag, since it could be the
    version of any subscription (the bug above). A weak tag never matches (If-Match compares
    strongly, RFC 9110 §13.1.1)."""
    sub, other = subscription(), subscription()
    header = if_match.format(sid=sub.id, other=other.id)
    for response in (
        client.post(
            f"{BILLING}/subscriptions/{sub.id}/pause", headers={**token, "If-Match": header}
        ),
        client.put(
            f"{BILLING}/users/{sub.user_id}/subscription",
            headers={**token, "If-Match": header},
            json={"plan_id": "business"},
        ),
    ):
        assert response.status_code == 412
        assert response.headers["ETag"] == f'"{sub.id}-v1"'
    assert stored(sub.id).version == 1 and entries() == []


def test_if_match_star_or_a_list_holding_the_current_tag_acts(token, client):
    sub = subscription()
    listed = f'"{sub.id}-v7", "{sub.id}-v1"'
    pause = client.post(
        f"{BILLING}/subscriptions/{sub.id}/pause", headers={**token, "If-Match": listed}
    )
    assert pause.status_code == 200
    resume = client.post(
        f"{BILLING}/subscriptions/{sub.id}/resume", headers={**token, "If-Match": "*"}
    )
    assert resume.status_code == 200


def test_an_etag_is_valid_for_an_id_the_platform_wrote_with_any_characters(token, client):
    """Ids are UUIDs when this app makes them; one the platform wrote may hold characters an
    entity tag cannot (a quote, a space, non-ASCII): percent-encoded, the tag stays valid and
    still names that subscription alone."""
    sub = subscription()
    odd = 'sub "1" é'
    db.session.execute(sa.update(Subscription).where(Subscription.id == sub.id).values(id=odd))
    db.session.commit()
    got = client.get(f"{BILLING}/subscriptions/{odd}", headers=token)
    assert got.headers["ETag"] == '"sub%20%221%22%20%C3%A9-v1"'
    acted = client.post(
        f"{BILLING}/subscriptions/{odd}/pause", headers={**token, "If-Match": got.headers["ETag"]}
    )
    assert acted.status_code == 200


# --- Idempotency-Key on the user's PUT ---------------------------------------------------------


def test_put_with_an_idempotency_key_is_done_once_and_replayed(token, client):
    """A script that lost the PUT's answer and sends it again gets the first answer, not a
    ``same_plan`` refusal for its own change."""
    sub = subscription()
    headers = {**token, "Idempotency-Key": "put-1"}
    url = f"{BILLING}/users/{sub.user_id}/subscription"
    first = client.put(url, headers=headers, json={"plan_id": "business"})
    again = client.put(url, headers=headers, json={"plan_id": "business"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert stored(sub.id).version == 2 and len(entries(sub.id)) == 1
    other = client.put(url, headers=headers, json={"plan_id": "legacy", "allow_inactive": True})
    assert other.status_code == 422
    assert stored(sub.id).plan_id == "business"
