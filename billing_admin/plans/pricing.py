"""Monthly recurring revenue, as the original system counts it (REFERENCE.md)."""

from decimal import ROUND_HALF_UP, Decimal

from billing_admin.plans.spec import CENT

# What one period's price is worth per month.
MONTHLY_FACTOR = {
    "day": Decimal(30),
    "week": Decimal("4.33"),
    "month": Decimal(1),
    "year": Decimal(1) / Decimal(12),
}


def monthly_price(price: Decimal, interval: str) -> Decimal:
    return Decimal(price) * MONTHLY_FACTOR[interval]


def mrr(price: Decimal, interval: str, active_subscriptions: int) -> Decimal:
    """Active subscriptions × the monthly price, to the cent."""
    return (monthly_price(price, interval) * active_subscriptions).quantize(CENT, ROUND_HALF_UP)
