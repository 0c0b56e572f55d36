"""Races of the API's writes on PostgreSQL (on SQLite a write holds the database's one write
lock from its first read, so these cannot interleave there):

- two scripts changing one plan with the same If-Match, both past the version check before
  either writes: one saves, the other gets 412 with the plan as the first left it;
- the same for two scripts acting on one subscription (subscription actions): one acts, the
  other gets 412 with the subscription as the first left it, and the action is done once;
- two copies of one POST with the same Idempotency-Key at the same moment: the work is done
  once; the other copy gets the same answer, or 409 while the first is still being answered.
"""

import threading

import pytest
import sqlalchemy as sa

from billing_admin.api import idempotency
from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan, Subscription
from billing_admin.plans import service
from billing_admin.subscriptions import actions
from tests.conftest import IsolatedClient
from tests.helpers import add_plan, add_subscription, add_subscriptions, bearer, make_token
from tests.test_api_subscription_writes import BILLING
from tests.test_api_writes import NEW_PLAN, PLANS

pytestmark = pytest.mark.postgresql_only


def run_together(calls):
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index, call):
        try:
            results[index] = call()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def headers(app, admin, runner) -> dict[str, str]:
    return bearer(make_token(runner, scope="write"))


def client_of(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


def test_two_writers_with_the_same_if_match_one_saves_one_gets_412(app, headers, monkeypatch):
    add_plan("pro")
    add_subscriptions("pro", "active", 2)
    db.session.commit()
    both_checked = threading.Barrier(2, timeout=30)
    real = service.price_counts
    held = []

    lock = threading.Lock()

    def after_both_checked(plan_ids):  # update_plan counts subscribers after its version check
        with lock:
            first_two = len(held) < 2
            held.append(1)
        if first_two:  # the two updates; the answers' own counts pass straight through
            both_checked.wait()
        return real(plan_ids)

    monkeypatch.setattr(service, "price_counts", after_both_checked)

    def writer(name):
        return lambda: client_of(app).put(
            f"{PLANS}/pro", json={"name": name}, headers={**headers, "If-Match": '"v1"'}
        )

    first, second = run_together([writer("First"), writer("Second")])
    monkeypatch.undo()
    assert len(held) >= 2
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    assert loser.get_json()["name"] == winner.get_json()["name"]
    assert loser.headers["ETag"] == winner.headers["ETag"] == '"v2"'
    db.session.rollback()
    assert db.session.get(Plan, "pro").version == 2
    updates = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "plan_updated"))
    assert len(list(updates)) == 1


def test_two_actions_on_one_subscription_with_the_same_if_match_one_acts_one_gets_412(
    app, headers, monkeypatch
):
    add_plan("pro")
    subscription = add_subscription("pro")
    db.session.commit()
    sid, end = subscription.id, subscription.current_period_end
    both_checked = threading.Barrier(2, timeout=30)
    real = actions.start_write

    def after_both_checked():  # each action starts its write after the view's If-Match check
        both_checked.wait()
        return real()

    monkeypatch.setattr(actions, "start_write", after_both_checked)

    def writer():
        return lambda: client_of(app).post(
            f"{BILLING}/subscriptions/{sid}/extend",
            json={"days": 10},
            headers={**headers, "If-Match": f'"{sid}-v1"'},
        )

    first, second = run_together([writer(), writer()])
    monkeypatch.undo()
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    assert winner.headers["ETag"] == loser.headers["ETag"] == f'"{sid}-v2"'
    assert loser.get_json()["current_period_end"] == end + 10 * 86_400
    assert winner.get_json()["subscription"] == {
        key: value
        for key, value in loser.get_json().items()
        if key in winner.get_json()["subscription"]
    }
    db.session.rollback()
    stored = db.session.get(Subscription, sid)
    assert (stored.version, stored.current_period_end) == (2, end + 10 * 86_400)
    extended = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "subscription_extended")
    )
    assert len(list(extended)) == 1


def test_the_same_idempotency_key_twice_at_once_creates_one_plan(app, headers, monkeypatch):
    both_ready = threading.Barrier(2, timeout=30)
    real_claim = idempotency._claim

    def claim_together(*args):
        both_ready.wait()
        return real_claim(*args)

    monkeypatch.setattr(idempotency, "_claim", claim_together)

    def post():
        return client_of(app).post(
            PLANS, json=NEW_PLAN, headers={**headers, "Idempotency-Key": "at-once"}
        )

    answers = run_together([post, post])
    monkeypatch.undo()
    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([200, 200], [200, 409]), statuses
    if statuses == [200, 200]:
        assert answers[0].get_json() == answers[1].get_json()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 1
    created = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "plan_created"))
    assert len(list(created)) == 1
    # A retry after both: the stored answer.
    again = post()
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
