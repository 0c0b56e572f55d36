"""Constraints the schema enforces itself, on every engine."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from billing_admin.extensions import db
from billing_admin.models import Plan, Subscription, User
from tests.helpers import add_subscription


@pytest.fixture
def plan(app):
    plan = Plan(id="pro", name="Pro", price=1490, interval="month")
    db.session.add(plan)
    db.session.commit()
    return plan


def test_a_status_outside_the_five_is_refused(plan):
    with pytest.raises(IntegrityError):
        add_subscription("pro", status="expired")


@pytest.mark.parametrize("status", ["active", "trialing", "past_due", "paused", "canceled"])
def test_each_of_the_five_statuses_is_accepted(plan, status):
    assert add_subscription("pro", status=status).status == status


def test_a_subscription_to_an_unknown_plan_is_refused(plan):
    with pytest.raises(IntegrityError):
        add_subscription("no-such-plan")


def test_a_plan_with_subscriptions_cannot_be_deleted_under_them(plan):
    add_subscription("pro", status="canceled")
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.delete(Plan).where(Plan.id == "pro"))
        db.session.flush()


def test_user_emails_are_unique(app):
    db.session.add_all([User(email="a@example.com"), User(email="a@example.com")])
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_timestamps_are_taken_when_the_row_is_written(app, set_clock):
    set_clock(1_111)
    db.session.add(Plan(id="a", name="A", price=0, interval="month"))
    db.session.commit()
    set_clock(2_222)
    db.session.add(Plan(id="b", name="B", price=0, interval="month"))
    db.session.commit()
    plans = {p.id: p for p in db.session.scalars(sa.select(Plan))}
    assert (plans["a"].created_at, plans["b"].created_at) == (1_111, 2_222)

    set_clock(3_333)
    plans["a"].name = "A2"
    db.session.commit()
    assert (plans["a"].created_at, plans["a"].updated_at, plans["a"].version) == (1_111, 3_333, 2)


def test_saving_over_a_newer_version_of_a_plan_is_refused(app):
    """The version counter issue 4's edit form relies on to stop lost updates."""
    from sqlalchemy.orm.exc import StaleDataError

    db.session.add(Plan(id="pro", name="Pro", price=1, interval="month"))
    db.session.commit()
    mine = db.session.get(Plan, "pro")
    # Someone else saves in the meantime (a Core UPDATE, so our loaded copy stays as it was).
    table = Plan.__table__
    db.session.execute(sa.update(table).values(name="Theirs", version=table.c.version + 1))
    mine.name = "Mine"
    with pytest.raises(StaleDataError):
        db.session.flush()


def test_subscription_defaults(plan):
    subscription = add_subscription("pro")
    db.session.commit()
    stored = db.session.get(Subscription, subscription.id)
    assert stored.cancel_at_period_end is False
    assert stored.trial_end is None
    assert len(stored.id) == 36
