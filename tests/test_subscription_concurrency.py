"""Two admins acting on one subscription at the same moment, on PostgreSQL (on SQLite a write
holds the database's one write lock from its first read, so the race cannot happen there): one
wins, the other gets the conflict with the winner's state, and only the winner's change and
audit entry are written; the counts stay exact."""

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor
from billing_admin.audit.verification import walk_chain
from billing_admin.extensions import db
from billing_admin.models import AuditLog, Subscription
from billing_admin.subscriptions import actions
from tests.helpers import add_plan, add_subscription
from tests.test_subscription_actions import assert_counts_exact

pytestmark = pytest.mark.postgresql_only

ALICE, BOB = Actor("alice@example.com"), Actor("bob@example.com")


def race(app, *writers: Callable[[], object]) -> list[object]:
    """Run each writer in its own thread and app context (its own connection), all released
    at once; returns each one's result or the exception it raised."""
    start = threading.Barrier(len(writers), timeout=30)
    outcomes: list[object] = [None] * len(writers)

    def run(index: int, writer: Callable[[], object]) -> None:
        with app.app_context():
            try:
                start.wait()
                outcomes[index] = writer()
            except Exception as exc:  # the conflict is an outcome, asserted by the test
                outcomes[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@pytest.mark.parametrize("round_", range(3))
def test_two_admins_acting_at_once_one_wins_one_gets_the_conflict(app, round_):
    add_plan("pro")
    add_plan("business")
    sub = add_subscription("pro", "active")
    db.session.commit()
    sid = sub.id
    db.session.remove()

    outcomes = race(
        app,
        lambda: actions.change_plan(sid, "business", expected_version=1, actor=ALICE),
        lambda: actions.cancel_now(sid, expected_version=1, actor=BOB),
    )
    won = [o for o in outcomes if isinstance(o, actions.ActionResult)]
    lost = [o for o in outcomes if isinstance(o, actions.StaleSubscription)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    [winner], [conflict] = won, lost
    # The loser is told what is stored now: the winner's state, version 2.
    assert conflict.subscription.version == 2 == winner.subscription.version
    assert conflict.subscription == winner.subscription

    db.session.rollback()
    row = db.session.get(Subscription, sid)
    assert row.version == 2
    if winner.action == "subscription_plan_changed":
        assert (row.plan_id, row.status) == ("business", "active")
    else:
        assert (row.plan_id, row.status) == ("pro", "canceled")
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.entity_id == sid))
    assert entry.action == winner.action
    assert entry.actor == (ALICE if winner.action == "subscription_plan_changed" else BOB).name
    assert_counts_exact()
    assert walk_chain().ok


def test_many_admins_extending_at_once_each_extension_counts_once(app):
    """Five admins with the same version: exactly one extension is applied."""
    add_plan("pro")
    sub = add_subscription("pro", "active")
    db.session.commit()
    sid, end = sub.id, sub.current_period_end
    db.session.remove()
    outcomes = race(
        app,
        *(
            (lambda: actions.extend_period(sid, 10, expected_version=1, actor=ALICE))
            for _ in range(5)
        ),
    )
    assert sum(isinstance(o, actions.ActionResult) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, actions.StaleSubscription) for o in outcomes) == 4
    db.session.rollback()
    row = db.session.get(Subscription, sid)
    assert (row.current_period_end, row.version) == (end + 10 * 86_400, 2)
