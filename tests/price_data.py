"""A plan with three prices and subscriptions of every status on them, shared by the price
tests (service, pages, command, API). Its figures are worked out by hand in those tests.

Plan ``starter`` ("Starter"):
    price A, RUB 490.00 a month (T0–T1): active 4, trialing 2, past_due 1, paused 1, canceled 2
    price B, RUB 540.00 a month (T1–T2): active 3, paused 1, canceled 1
    price C, RUB 590.00 a month (T2–, current): active 1, trialing 1
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from billing_admin.extensions import db
from tests.helpers import add_plan, add_subscriptions, change_plan, current_price_id

T0 = 1_800_000_000  # 2027-01-15 08:00:00 UTC
T1 = T0 + 86_400
T2 = T0 + 2 * 86_400


@dataclass(frozen=True)
class Prices:
    """The ids of Starter's prices A (oldest), B and C (current)."""

    a: int
    b: int
    c: int


def add_three_prices(set_clock: Callable[[int], None]) -> Prices:
    """Starter, its three prices and its 18 subscriptions, committed; the clock is left at T2."""
    set_clock(T0)
    add_plan("starter", name="Starter", price=Decimal("490.00"))
    for status, count in (
        ("active", 4),
        ("trialing", 2),
        ("past_due", 1),
        ("paused", 1),
        ("canceled", 2),
    ):
        add_subscriptions("starter", status, count)
    a = current_price_id("starter")
    set_clock(T1)
    change_plan("starter", price=Decimal("540.00"))
    for status, count in (("active", 3), ("paused", 1), ("canceled", 1)):
        add_subscriptions("starter", status, count)
    b = current_price_id("starter")
    set_clock(T2)
    change_plan("starter", price=Decimal("590.00"))
    add_subscriptions("starter", "active")
    add_subscriptions("starter", "trialing")
    db.session.rollback()
    return Prices(a, b, current_price_id("starter"))
