"""Monthly recurring revenue: what the subscriptions that pay are worth a month.

MRR = Σ over active subscriptions of the monthly value of the price each one pays (issue 12),
with the original system's factors: a week's price × 4.33, a day's × 30, a year's ÷ 12
(docs/original-system.md). Summed per currency, never across currencies; exact until rounded
once to the cent (half up) where a figure is shown.
"""

from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from billing_admin.reporting.counts import PAYING_STATUS, PriceCount

CENT = Decimal("0.01")

# What one period's price is worth per month.
MONTHLY_FACTOR = {
    "day": Decimal(30),
    "week": Decimal("4.33"),
    "month": Decimal(1),
    "year": Decimal(1) / Decimal(12),
}


def monthly_price(price: Decimal, interval: str) -> Decimal:
    """One subscription's monthly value, unrounded (RUB 4,704.00 a year → 392.00)."""
    return Decimal(price) * MONTHLY_FACTOR[interval]


def to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, ROUND_HALF_UP)


def mrr(price: Decimal, interval: str, active_subscriptions: int) -> Decimal:
    """Active subscriptions × the monthly price, to the cent."""
    return to_cent(monthly_price(price, interval) * active_subscriptions)


def exact_mrr_by_currency(rows: Iterable[PriceCount]) -> dict[str, Decimal]:
    """Unrounded MRR per currency of the counted rows (only currencies with active ones)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.status == PAYING_STATUS:
            totals[row.currency] += monthly_price(row.amount, row.interval) * row.count
    return dict(totals)


def mrr_by_currency(rows: Iterable[PriceCount]) -> dict[str, Decimal]:
    """MRR per currency of the counted rows, each to the cent."""
    return {currency: to_cent(total) for currency, total in exact_mrr_by_currency(rows).items()}
