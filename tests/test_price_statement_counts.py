"""Statement counts of the pages issue 12 touches (the plan list, a plan's page, the dashboard,
the move preview and the API's plan objects): the same number of SQL statements whatever the
number of subscriptions and prices, so every money figure stays "one small query" at a million
subscriptions (the timings themselves are measured by bench/, never asserted).

Each test measures a page on a small database, then grows it (more subscriptions of every
status, several prices on the big plan, more plans with older prices, a completed move) and
measures again.
"""

from decimal import Decimal

import pytest

from billing_admin.audit.service import Actor
from billing_admin.extensions import db
from billing_admin.plans import price_moves
from tests.dashboard_data import NOW, bulk_subscriptions
from tests.helpers import QueryCounter, add_plan, change_plan

STATUSES = ("active", "trialing", "past_due", "paused", "canceled")


def subscriptions(plan_id: str, count: int) -> None:
    bulk_subscriptions(
        [
            (plan_id, STATUSES[n % 5], NOW - n * 3600, NOW if n % 5 == 4 else None)
            for n in range(count)
        ]
    )


def small() -> None:
    add_plan("big", price=Decimal("490.00"), display_order=0)
    add_plan("usd", price=Decimal("20.00"), currency="USD", interval="year", display_order=1)
    subscriptions("big", 5)


def grow() -> None:
    """Big: three more prices (one in USD, one weekly) with subscriptions on each; a completed
    move; eight more plans, each with two prices; hundreds more subscriptions."""
    for price, currency, interval in (
        ("590.00", "RUB", "month"),
        ("9.90", "USD", "month"),
        ("150.00", "RUB", "week"),
    ):
        change_plan("big", price=Decimal(price), currency=currency, interval=interval)
        subscriptions("big", 60)
    preview = price_moves.preview_move("big", price_moves.preview_move("big").from_prices[0].id)
    move = price_moves.start_move(
        "big",
        from_price_id=preview.from_prices[0].id,
        fingerprint=preview.fingerprint,
        actor=Actor("t"),
    )
    price_moves.run_move(move.id, batch_size=7)
    subscriptions("usd", 40)
    for n in range(8):
        add_plan(f"p{n}", display_order=2 + n)
        subscriptions(f"p{n}", 10)
        change_plan(f"p{n}", price=Decimal("1590.00"))
        subscriptions(f"p{n}", 10)
    db.session.commit()


@pytest.fixture
def measure(set_clock, client, admin, auth):
    """Statements of one GET by a signed-in admin; the clock is pinned to NOW first (a session
    signed in at another time would have expired)."""
    set_clock(NOW)
    assert auth.login().status_code == 302

    def statements(url: str) -> int:
        db.session.commit()
        with QueryCounter(db.engine) as counter:
            response = client.get(url)
        assert response.status_code == 200, url
        return counter.count

    return statements


@pytest.mark.parametrize(
    "url",
    [
        "/admin/plans",
        "/admin/plans/big",
        "/admin/",
        "/admin/plans/big/prices/move",
        "/api/v1/admin/billing/plans",
        "/api/v1/admin/billing/plans/big",
    ],
)
def test_the_page_runs_as_many_statements_at_any_size(measure, url):
    small()
    change_plan("big", price=Decimal("540.00"))  # the move preview needs an older price
    subscriptions("big", 5)
    few = measure(url)
    grow()
    assert measure(url) == few


def test_the_plan_page_of_a_running_move_runs_as_many_statements_at_any_size(measure):
    small()
    change_plan("big", price=Decimal("540.00"))
    subscriptions("big", 5)
    preview = price_moves.preview_move("big")
    price_moves.start_move(
        "big", from_price_id=None, fingerprint=preview.fingerprint, actor=Actor("t")
    )
    few = measure("/admin/plans/big")
    subscriptions("big", 300)
    for n in range(4):
        change_plan("big", price=Decimal(600 + n))
        subscriptions("big", 20)
    assert measure("/admin/plans/big") == few
