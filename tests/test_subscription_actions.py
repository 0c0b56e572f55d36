"""Admins' actions on one subscription (issue 13, subscriptions/actions.py): each action's rule,
its one audit entry (old and new values, the actor), the trigger-kept counts after it (equal to a
GROUP BY over the rows), the stale-version conflict, and every refusal; on SQLite and PostgreSQL.
"""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor
from billing_admin.audit.verification import walk_chain
from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan, PlanSubscriptionCount, Subscription
from billing_admin.subscriptions import actions
from billing_admin.subscriptions.actions import (
    ActionRefused,
    StaleSubscription,
    SubscriptionNotFound,
)
from tests.helpers import add_plan, add_subscription, change_plan, current_price_id
from tests.helpers import stored_subscription as stored
from tests.helpers import subscription_entries as entries

ACTOR = Actor("admin@example.com")
NOW = 1_800_000_000
START, END = 1_700_000_000, 1_702_592_000  # tests/helpers.add_subscription's period


@pytest.fixture
def plans(app, set_clock):
    set_clock(NOW)
    add_plan("pro")
    add_plan("business", price=Decimal("4990.00"))
    add_plan("legacy", price=Decimal("99.00"), is_active=False)


def subscription(status: str = "active", plan_id: str = "pro", **fields) -> Subscription:
    made = add_subscription(plan_id, status, **fields)
    db.session.commit()
    return made


def assert_counts_exact() -> None:
    """The trigger-kept counts equal a GROUP BY over the subscriptions."""
    db.session.rollback()
    kept = {
        (row.plan_id, row.price_id, row.status): row.count
        for row in db.session.scalars(sa.select(PlanSubscriptionCount))
        if row.count
    }
    real = {
        (plan_id, price_id, status): count
        for plan_id, price_id, status, count in db.session.execute(
            sa.select(
                Subscription.plan_id,
                Subscription.price_id,
                Subscription.status,
                sa.func.count(),
            ).group_by(Subscription.plan_id, Subscription.price_id, Subscription.status)
        )
    }
    assert kept == real


def only_entry(subscription_id: str, action: str) -> AuditLog:
    [entry] = entries(subscription_id)
    assert entry.action == action
    assert entry.actor == ACTOR.name
    assert entry.entity_type == "subscription"
    return entry


# --- change plan -------------------------------------------------------------------------------


def test_change_plan_takes_the_new_plans_current_price_now_and_keeps_the_period(plans):
    sub = subscription("active", trial_end=None, cancel_at_period_end=True)
    old_price = sub.price_id
    # Business has had a price change: the subscription must take the current one.
    change_plan("business", price=Decimal("5990.00"))
    new_price = current_price_id("business")
    result = actions.change_plan(sub.id, "business", expected_version=1, actor=ACTOR)

    row = stored(sub.id)
    assert (row.plan_id, row.price_id, row.status) == ("business", new_price, "active")
    assert (row.current_period_start, row.current_period_end) == (START, END)
    assert row.cancel_at_period_end is True  # kept
    assert row.version == 2 == result.subscription.version
    assert result.changes == {
        "plan_id": {"old": "pro", "new": "business"},
        "price_id": {"old": old_price, "new": new_price},
    }
    entry = only_entry(sub.id, "subscription_plan_changed")
    assert entry.id == result.audit_entry_id
    assert entry.changes == result.changes
    assert entry.audit_metadata["version"] == 2
    assert entry.audit_metadata["prices"] == {
        "old": {"id": old_price, "amount": "1490.00", "currency": "RUB", "interval": "month"},
        "new": {"id": new_price, "amount": "5990.00", "currency": "RUB", "interval": "month"},
    }
    assert_counts_exact()
    assert walk_chain().ok


@pytest.mark.parametrize("status", ["trialing", "past_due", "paused"])
def test_change_plan_keeps_any_live_status_and_the_trial_end(plans, status):
    sub = subscription(status, trial_end=END)
    actions.change_plan(sub.id, "business", expected_version=1, actor=ACTOR)
    row = stored(sub.id)
    assert (row.plan_id, row.status, row.trial_end) == ("business", status, END)
    assert_counts_exact()


def test_change_plan_to_an_inactive_plan_is_refused_unless_allowed(plans):
    sub = subscription()
    with pytest.raises(ActionRefused) as refused:
        actions.change_plan(sub.id, "legacy", expected_version=1, actor=ACTOR)
    assert (refused.value.code, refused.value.field) == ("inactive_plan", "plan_id")
    assert "inactive" in str(refused.value)
    assert stored(sub.id).plan_id == "pro" and entries(sub.id) == []

    result = actions.change_plan(
        sub.id, "legacy", expected_version=1, actor=ACTOR, allow_inactive=True
    )
    assert stored(sub.id).plan_id == "legacy"
    assert stored(sub.id).price_id == current_price_id("legacy")
    assert only_entry(sub.id, "subscription_plan_changed").audit_metadata["allow_inactive"]
    assert result.changes["plan_id"] == {"old": "pro", "new": "legacy"}
    assert_counts_exact()


@pytest.mark.parametrize(
    ("plan_id", "code", "message"),
    [
        ("pro", "same_plan", "already on this plan"),
        ("nope", "unknown_plan", "Plan 'nope' not found"),
        ("  ", "invalid_input", "Choose a plan"),
    ],
)
def test_change_plan_refusals_name_the_plan_field(plans, plan_id, code, message):
    sub = subscription()
    with pytest.raises(ActionRefused) as refused:
        actions.change_plan(sub.id, plan_id, expected_version=1, actor=ACTOR)
    assert (refused.value.code, refused.value.field) == (code, "plan_id")
    assert message in str(refused.value)
    assert stored(sub.id).version == 1 and entries(sub.id) == []


def test_a_canceled_subscription_cannot_change_plan(plans):
    sub = subscription("canceled", canceled_at=NOW - 10)
    with pytest.raises(ActionRefused) as refused:
        actions.change_plan(sub.id, "business", expected_version=1, actor=ACTOR)
    assert (refused.value.code, refused.value.field) == ("canceled", None)
    assert stored(sub.id).plan_id == "pro"


# --- cancel now, at period end, resume renewal -------------------------------------------------


@pytest.mark.parametrize("status", ["active", "trialing", "past_due", "paused"])
def test_cancel_now_ends_it_now_and_clears_a_scheduled_cancellation(plans, status):
    sub = subscription(status, cancel_at_period_end=True)
    result = actions.cancel_now(sub.id, expected_version=1, actor=ACTOR)
    row = stored(sub.id)
    assert (row.status, row.canceled_at, row.cancel_at_period_end) == ("canceled", NOW, False)
    assert (row.current_period_start, row.current_period_end) == (START, END)
    entry = only_entry(sub.id, "subscription_canceled")
    assert (
        entry.changes
        == result.changes
        == {
            "status": {"old": status, "new": "canceled"},
            "cancel_at_period_end": {"old": True, "new": False},
            "canceled_at": {"old": None, "new": NOW},
        }
    )
    assert_counts_exact()


def test_cancel_now_of_a_canceled_subscription_is_refused(plans):
    sub = subscription("canceled", canceled_at=NOW - 50)
    with pytest.raises(ActionRefused) as refused:
        actions.cancel_now(sub.id, expected_version=1, actor=ACTOR)
    assert refused.value.code == "already_canceled"
    assert stored(sub.id).canceled_at == NOW - 50 and entries(sub.id) == []


def test_cancel_at_period_end_then_resume_renewal(plans):
    sub = subscription("trialing")
    actions.cancel_at_period_end(sub.id, expected_version=1, actor=ACTOR)
    row = stored(sub.id)
    assert (row.cancel_at_period_end, row.status, row.version) == (True, "trialing", 2)
    actions.resume_renewal(sub.id, expected_version=2, actor=ACTOR)
    row = stored(sub.id)
    assert (row.cancel_at_period_end, row.version) == (False, 3)
    first, second = entries(sub.id)
    assert first.action == "subscription_cancel_scheduled"
    assert first.changes == {"cancel_at_period_end": {"old": False, "new": True}}
    assert second.action == "subscription_renewal_resumed"
    assert second.changes == {"cancel_at_period_end": {"old": True, "new": False}}
    assert_counts_exact()


@pytest.mark.parametrize(
    ("function", "status", "scheduled", "code"),
    [
        ("cancel_at_period_end", "active", True, "already_scheduled"),
        ("cancel_at_period_end", "canceled", False, "canceled"),
        ("resume_renewal", "active", False, "not_scheduled"),
        ("resume_renewal", "canceled", True, "canceled"),
    ],
)
def test_scheduling_refusals(plans, function, status, scheduled, code):
    sub = subscription(status, cancel_at_period_end=scheduled)
    with pytest.raises(ActionRefused) as refused:
        getattr(actions, function)(sub.id, expected_version=1, actor=ACTOR)
    assert refused.value.code == code
    assert stored(sub.id).cancel_at_period_end is scheduled and entries(sub.id) == []


# --- pause and unpause -------------------------------------------------------------------------


def test_pause_then_unpause_moves_between_the_status_counters(plans):
    sub = subscription("active")
    actions.pause(sub.id, expected_version=1, actor=ACTOR)
    assert stored(sub.id).status == "paused"
    assert_counts_exact()
    actions.unpause(sub.id, expected_version=2, actor=ACTOR)
    row = stored(sub.id)
    assert (row.status, row.version, row.current_period_end) == ("active", 3, END)
    paused, unpaused = entries(sub.id)
    assert paused.action == "subscription_paused"
    assert paused.changes == {"status": {"old": "active", "new": "paused"}}
    assert unpaused.action == "subscription_unpaused"
    assert unpaused.changes == {"status": {"old": "paused", "new": "active"}}
    assert_counts_exact()


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        ("paused", "not_active", "already paused"),
        ("trialing", "not_active", "A trial cannot be paused"),
        ("past_due", "not_active", "past-due"),
        ("canceled", "canceled", "canceled subscription cannot be paused"),
    ],
)
def test_pause_refusals(plans, status, code, message):
    sub = subscription(status)
    with pytest.raises(ActionRefused) as refused:
        actions.pause(sub.id, expected_version=1, actor=ACTOR)
    assert refused.value.code == code and message in str(refused.value)
    assert stored(sub.id).status == status and entries(sub.id) == []


@pytest.mark.parametrize(
    ("status", "code"),
    [("active", "not_paused"), ("trialing", "not_paused"), ("canceled", "canceled")],
)
def test_unpause_refusals(plans, status, code):
    sub = subscription(status)
    with pytest.raises(ActionRefused) as refused:
        actions.unpause(sub.id, expected_version=1, actor=ACTOR)
    assert refused.value.code == code
    assert stored(sub.id).status == status and entries(sub.id) == []


# --- extend ------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 30, 366])
def test_extend_adds_whole_days_to_the_period_end(plans, days):
    sub = subscription("past_due")
    result = actions.extend_period(sub.id, days, expected_version=1, actor=ACTOR)
    row = stored(sub.id)
    assert row.current_period_end == END + days * 86_400
    assert row.current_period_start == START and row.trial_end is None
    entry = only_entry(sub.id, "subscription_extended")
    assert (
        entry.changes
        == result.changes
        == {"current_period_end": {"old": END, "new": END + days * 86_400}}
    )
    assert entry.audit_metadata["days"] == days
    assert_counts_exact()


def test_extending_a_trial_moves_its_trial_end_too(plans):
    sub = subscription("trialing", trial_end=END)
    actions.extend_period(sub.id, 7, expected_version=1, actor=ACTOR)
    row = stored(sub.id)
    assert (row.current_period_end, row.trial_end) == (END + 7 * 86_400, END + 7 * 86_400)
    assert set(only_entry(sub.id, "subscription_extended").changes) == {
        "current_period_end",
        "trial_end",
    }


@pytest.mark.parametrize("days", [0, -1, 367, 10_000, True, "5", 2.5, None])
def test_extend_refuses_days_outside_1_to_366(plans, days):
    sub = subscription()
    with pytest.raises(ActionRefused) as refused:
        actions.extend_period(sub.id, days, expected_version=1, actor=ACTOR)
    assert refused.value.field == "days"
    assert "from 1 to 366" in str(refused.value)
    assert stored(sub.id).current_period_end == END and entries(sub.id) == []


def test_extend_of_a_canceled_subscription_is_refused(plans):
    sub = subscription("canceled")
    with pytest.raises(ActionRefused) as refused:
        actions.extend_period(sub.id, 5, expected_version=1, actor=ACTOR)
    assert refused.value.code == "canceled"
    assert stored(sub.id).current_period_end == END


# --- every action: the conflict, unknown ids, dry runs -----------------------------------------

EVERY_ACTION = {
    "change_plan": (
        lambda sid, v: actions.change_plan(sid, "business", expected_version=v, actor=ACTOR)
    ),
    "cancel_now": (lambda sid, v: actions.cancel_now(sid, expected_version=v, actor=ACTOR)),
    "cancel_at_period_end": (
        lambda sid, v: actions.cancel_at_period_end(sid, expected_version=v, actor=ACTOR)
    ),
    "resume_renewal": (lambda sid, v: actions.resume_renewal(sid, expected_version=v, actor=ACTOR)),
    "pause": (lambda sid, v: actions.pause(sid, expected_version=v, actor=ACTOR)),
    "unpause": (lambda sid, v: actions.unpause(sid, expected_version=v, actor=ACTOR)),
    "extend_period": (
        lambda sid, v: actions.extend_period(sid, 3, expected_version=v, actor=ACTOR)
    ),
}
# A subscription each action applies to.
APPLIES_TO = {
    "change_plan": {"status": "active"},
    "cancel_now": {"status": "active"},
    "cancel_at_period_end": {"status": "active"},
    "resume_renewal": {"status": "active", "cancel_at_period_end": True},
    "pause": {"status": "active"},
    "unpause": {"status": "paused"},
    "extend_period": {"status": "active"},
}


@pytest.mark.parametrize("name", sorted(EVERY_ACTION))
def test_a_stale_version_is_refused_with_the_current_state(plans, name):
    fields = dict(APPLIES_TO[name])
    sub = subscription(fields.pop("status"), **fields)
    # Someone else changed it since the admin opened it (version 1 → 2).
    row = stored(sub.id)
    row.extra_metadata = {"note": "changed by someone else"}
    db.session.commit()
    before = stored(sub.id)
    state = (before.plan_id, before.status, before.current_period_end, before.cancel_at_period_end)
    with pytest.raises(StaleSubscription) as stale:
        EVERY_ACTION[name](sub.id, 1)
    assert stale.value.expected_version == 1
    assert stale.value.subscription.version == 2
    assert stale.value.subscription.id == sub.id
    row = stored(sub.id)
    assert (row.plan_id, row.status, row.current_period_end, row.cancel_at_period_end) == state
    assert row.version == 2 and entries(sub.id) == []
    # With the current version it goes through.
    assert EVERY_ACTION[name](sub.id, 2).subscription.version == 3
    assert_counts_exact()


@pytest.mark.parametrize("name", sorted(EVERY_ACTION))
def test_an_unknown_subscription_is_not_found(plans, name):
    with pytest.raises(SubscriptionNotFound) as missing:
        EVERY_ACTION[name]("no-such-id", 1)
    assert "Subscription 'no-such-id' not found" in str(missing.value)


def test_a_missing_version_is_refused_before_anything_is_read(plans):
    sub = subscription()
    with pytest.raises(ActionRefused) as refused:
        actions.pause(sub.id, expected_version="1", actor=ACTOR)  # type: ignore[arg-type]
    assert refused.value.field == "expected_version"


def test_a_dry_run_says_what_would_change_and_writes_nothing(plans):
    sub = subscription("active")
    result = actions.change_plan(sub.id, "business", expected_version=1, actor=ACTOR, dry_run=True)
    assert result.dry_run and result.audit_entry_id is None
    assert result.changes["plan_id"] == {"old": "pro", "new": "business"}
    assert result.subscription.plan_id == "business" and result.subscription.version == 2
    assert result.prices["new"]["amount"] == "4990.00"
    as_json = result.as_dict()
    assert as_json["subscription"]["plan_id"] == "business" and as_json["dry_run"] is True
    assert as_json["changes"] == result.changes
    row = stored(sub.id)
    assert (row.plan_id, row.version) == ("pro", 1) and entries(sub.id) == []
    # Refusals and conflicts are found by a dry run too.
    with pytest.raises(ActionRefused):
        actions.unpause(sub.id, expected_version=1, actor=ACTOR, dry_run=True)
    with pytest.raises(StaleSubscription):
        actions.pause(sub.id, expected_version=7, actor=ACTOR, dry_run=True)


def test_refusals_list_what_applies_to_each_status(plans):
    active = stored(subscription("active").id)
    applicable = {name for name, refusal in actions.refusals(active).items() if refusal is None}
    assert applicable == {
        "subscription_plan_changed",
        "subscription_canceled",
        "subscription_cancel_scheduled",
        "subscription_paused",
        "subscription_extended",
    }
    canceled = stored(subscription("canceled").id)
    assert all(refusal is not None for refusal in actions.refusals(canceled).values())
    paused = stored(subscription("paused", cancel_at_period_end=True).id)
    applicable = {name for name, refusal in actions.refusals(paused).items() if refusal is None}
    assert applicable == {
        "subscription_plan_changed",
        "subscription_canceled",
        "subscription_renewal_resumed",
        "subscription_unpaused",
        "subscription_extended",
    }


def test_a_sequence_of_actions_keeps_counts_and_one_entry_each(plans):
    sub = subscription("active")
    version = 1
    for step in (
        lambda v: actions.pause(sub.id, expected_version=v, actor=ACTOR),
        lambda v: actions.change_plan(sub.id, "business", expected_version=v, actor=ACTOR),
        lambda v: actions.unpause(sub.id, expected_version=v, actor=ACTOR),
        lambda v: actions.extend_period(sub.id, 10, expected_version=v, actor=ACTOR),
        lambda v: actions.cancel_at_period_end(sub.id, expected_version=v, actor=ACTOR),
        lambda v: actions.change_plan(
            sub.id, "legacy", expected_version=v, actor=ACTOR, allow_inactive=True
        ),
        lambda v: actions.cancel_now(sub.id, expected_version=v, actor=ACTOR),
    ):
        version = step(version).subscription.version
        assert_counts_exact()
    assert version == 8
    assert len(entries(sub.id)) == 7
    assert walk_chain().ok


def test_the_move_to_the_current_price_bumps_the_version(plans):
    """A subscription moved to its plan's current price has changed: an action opened before
    the move is stale."""
    from billing_admin.plans import price_moves

    sub = subscription("active")
    change_plan("pro", price=Decimal("1990.00"))
    move = price_moves.start_move(
        "pro",
        from_price_id=None,
        fingerprint=price_moves.preview_move("pro").fingerprint,
        actor=ACTOR,
    )
    price_moves.run_move(move.id)
    assert stored(sub.id).version == 2
    with pytest.raises(StaleSubscription):
        actions.pause(sub.id, expected_version=1, actor=ACTOR)


def test_plan_deletion_still_sees_a_changed_subscription(plans):
    """The counts the plan rules read follow a change of plan (the old plan becomes deletable)."""
    from billing_admin.plans.service import deletion_refusal

    sub = subscription("active", plan_id="business")
    assert deletion_refusal("business") is not None
    actions.change_plan(sub.id, "pro", expected_version=1, actor=ACTOR)
    db.session.rollback()
    assert deletion_refusal("business") is None
    assert db.session.get(Plan, "business") is not None
