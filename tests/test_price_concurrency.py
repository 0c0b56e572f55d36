"""Concurrency of issue 12 on PostgreSQL (on SQLite a write holds the database's one write lock
from its first read, so these races cannot happen there):

- two admins changing the price of one plan at the same moment, and after both passed the
  version check: one wins, the other gets the conflict page (409), and exactly one new price is
  opened;
- two admins starting the move of one plan at once: one move is recorded, the other is told one
  is under way.

(Two runners of one move at once: tests/test_price_moves.py, on both engines.)
"""

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor
from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan, Price, PriceMove, Subscription
from billing_admin.plans import price_moves, service
from tests.helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    add_plan,
    add_subscriptions,
    add_user,
    change_plan,
    plan_form,
)
from tests.test_concurrency import EDIT_FORM, SECOND_EMAIL, Editor, run_together

pytestmark = pytest.mark.postgresql_only


class PriceEditor(Editor):
    """An admin with Pro's edit form open who saves a new price, confirmed as the warning asked."""

    def __init__(self, app, email: str, price: str):
        super().__init__(app, email, name="Pro")
        self.price = price

    def save(self) -> int:
        data = plan_form(**{**EDIT_FORM, "name": "Pro", "price": self.price}, id=None)
        data.update(
            csrf_token=self.token,
            version=self.version,
            confirm_price_change=f"{self.price} RUB month",
        )
        self.response = self.client.post("/admin/plans/pro/edit", data=data)
        return self.response.status_code


@pytest.fixture
def price_editors(app, admin, client) -> tuple[PriceEditor, PriceEditor]:
    add_user(SECOND_EMAIL, ADMIN_PASSWORD, role="admin")
    add_plan("pro")
    add_subscriptions("pro", "active", 3)
    alice = PriceEditor(app, ADMIN_EMAIL, "1590.00")
    bob = PriceEditor(app, SECOND_EMAIL, "1690.00")
    alice.open_form()
    bob.open_form()
    assert alice.version == bob.version == "1"
    return alice, bob


def assert_one_price_won(editors: tuple[PriceEditor, PriceEditor]) -> None:
    statuses = sorted(editor.response.status_code for editor in editors)
    assert statuses == [302, 409], [e.response.get_data(as_text=True)[:500] for e in editors]
    winner, loser = sorted(editors, key=lambda e: e.response.status_code)
    html = loser.response.get_data(as_text=True)
    assert "This plan was changed by someone else since you opened it" in html
    # Theirs beside mine, as the page writes amounts ("1,590.00").
    mine, theirs = (f"{Decimal(editor.price):,.2f}" for editor in (loser, winner))
    assert f'<th scope="row">Price</th><td>{mine}</td><td>{theirs}</td>' in html
    db.session.rollback()
    plan = db.session.get(Plan, "pro")
    assert (plan.price, plan.version) == (Decimal(winner.price), 2)
    prices = db.session.execute(
        sa.select(Price.id, Price.amount, Price.active_until).order_by(Price.id)
    ).all()
    assert [(amount, until is None) for _, amount, until in prices] == [
        (Decimal("1490.00"), False),
        (Decimal(winner.price), True),  # one new price: the winner's
    ]
    (entry,) = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "plan_updated"))
    assert entry.actor == winner.email
    assert entry.audit_metadata["price_id"] == {"old": prices[0][0], "new": prices[1][0]}
    # The subscribers keep what they paid.
    paid = db.session.scalars(sa.select(Subscription.price_id).distinct()).all()
    assert paid == [prices[0][0]]


def test_two_admins_changing_the_price_at_the_same_moment(price_editors):
    start = threading.Barrier(2, timeout=30)
    run_together(price_editors, start.wait)
    assert_one_price_won(price_editors)


def test_two_admins_changing_the_price_after_both_passed_the_version_check(
    price_editors, monkeypatch
):
    both_checked = threading.Barrier(2, timeout=30)
    real = service.price_counts
    held = []

    def after_both_checked(plan_ids):  # update_plan counts (for the warning) after its check
        both_checked.wait()
        held.append(1)
        return real(plan_ids)

    monkeypatch.setattr(service, "price_counts", after_both_checked)
    run_together(price_editors, lambda: None)
    monkeypatch.undo()
    assert held == [1, 1]
    assert_one_price_won(price_editors)


def test_two_admins_starting_the_move_at_once_record_one_move(app):
    add_plan("pro")
    add_subscriptions("pro", "active", 4)
    change_plan("pro", price=Decimal("1590.00"))
    fingerprint = price_moves.preview_move("pro").fingerprint
    db.session.remove()
    together = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def press_move(name: str) -> None:
        with app.app_context():
            try:
                together.wait()
                price_moves.start_move(
                    "pro", from_price_id=None, fingerprint=fingerprint, actor=Actor(name)
                )
                outcomes.append("started")
            except price_moves.MoveInProgress:
                outcomes.append("in progress")
            except Exception as exc:  # anything else is the failure this test looks for
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press_move, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["in progress", "started"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PriceMove)) == 1
