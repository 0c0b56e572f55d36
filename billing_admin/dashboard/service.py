"""What the plans earn and how subscribers move: the figures of the dashboard.

Every figure comes from a fixed number of grouped or index-range queries (seven in all), none
per plan or per subscription, so the page costs the same for 5 plans or 500 and stays fast at
a million subscriptions. Definitions:

- Active subscribers: subscriptions in status ``active`` or ``trialing``.
- MRR: per plan, each active subscription's own price at its monthly value (reporting/mrr.py),
  per currency, each plan's figure to the cent; the dashboard's MRR is the sum of the plans'
  figures, so the table adds up to it. Currencies are never added together.
- The window, "last 30 days": today and the 29 calendar days before it, from midnight in the
  page's time zone (the admin's, else DISPLAY_TIMEZONE; issue 16, docs/dashboard.md) up to
  now. Across a daylight saving change it is an hour shorter or longer than 30 × 24 hours.
- New subscriptions: created in the window (start included).
- Cancellations: canceled (``canceled_at``) in the window.
- Churn: cancellations in the window ÷ subscriptions active at its start, where "active at the
  start" means created before the window and not canceled before it (no status history is kept,
  so a subscription paused or past due at that moment counts too).
- Trend: new and canceled subscriptions per week over the last 12 weeks, weeks of seven
  calendar days cut at the same midnights, the last one today and the six days before it
  (reporting/trend.py).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal

import sqlalchemy as sa

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import Subscription
from billing_admin.plans.service import PlanSummary, plan_summaries
from billing_admin.reporting.counts import ACTIVE_STATUSES
from billing_admin.reporting.trend import WeekCounts, weekly_trend
from billing_admin.zones import DEFAULT_ZONE, days_back_start, zone

WINDOW_DAYS = 30


@dataclass(frozen=True)
class PlanShare:
    summary: PlanSummary
    active_subscribers: int
    # Per currency of the plan's MRR: its share of the MRR in that currency; None when that is 0.
    mrr_share: dict[str, Decimal | None]


@dataclass(frozen=True)
class Overview:
    now: int
    window_start: int
    active_subscribers: int
    mrr_by_currency: dict[str, Decimal]
    new_in_window: int
    canceled_in_window: int
    active_at_window_start: int
    plans: list[PlanShare] = field(default_factory=list)
    weeks: list[WeekCounts] = field(default_factory=list)

    @property
    def churn(self) -> Decimal | None:
        """A fraction (0.05 is 5%), or None when nothing was active at the window's start."""
        if not self.active_at_window_start:
            return None
        return Decimal(self.canceled_in_window) / Decimal(self.active_at_window_start)


def mrr_by_currency(summaries: list[PlanSummary] | None = None) -> dict[str, Decimal]:
    """MRR summed per currency over the plans (``plan_summaries()`` unless given), currencies
    in alphabetical order; never added across currencies. The dashboard and the metrics."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for summary in plan_summaries() if summaries is None else summaries:
        for currency, amount in summary.mrr.items():
            totals[currency] += amount
    return dict(sorted(totals.items()))


def overview(where: tzinfo | None = None) -> Overview:
    """The dashboard's figures now, the window and weeks cut at midnight in zone ``where``
    (UTC unless given; the page passes the admin's)."""
    where = zone(DEFAULT_ZONE) if where is None else where
    now = now_epoch()
    window_start = days_back_start(now, WINDOW_DAYS - 1, where)
    summaries = plan_summaries()
    mrr_per_currency = mrr_by_currency(summaries)
    total = sum(summary.subscriptions for summary in summaries)
    new_in_window = _count(Subscription.created_at >= window_start)
    canceled_in_window = _count(Subscription.canceled_at >= window_start)
    canceled_before = _count(Subscription.canceled_at < window_start)
    return Overview(
        now=now,
        window_start=window_start,
        active_subscribers=sum(_active(s) for s in summaries),
        mrr_by_currency=mrr_per_currency,
        new_in_window=new_in_window,
        canceled_in_window=canceled_in_window,
        active_at_window_start=total - new_in_window - canceled_before,
        plans=[
            PlanShare(
                summary,
                _active(summary),
                {
                    currency: amount / mrr_per_currency[currency]
                    if mrr_per_currency[currency]
                    else None
                    for currency, amount in summary.mrr.items()
                },
            )
            for summary in summaries
        ],
        weeks=weekly_trend(now, where=where),
    )


def _active(summary: PlanSummary) -> int:
    return sum(summary.counts[status] for status in ACTIVE_STATUSES)


def _count(condition) -> int:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Subscription).where(condition))
        or 0
    )
