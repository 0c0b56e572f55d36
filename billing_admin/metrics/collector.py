"""Gauges read at scrape time: subscriptions by plan and status, and MRR by currency.

Both come from the plan service's ``plan_summaries()`` (plans/service.py), the same figures the
plan list and the dashboard show: two queries, the plans and the trigger-kept counts table, so
a scrape costs the same at a thousand subscriptions or ten million. MRR per currency is
``dashboard.service.mrr_by_currency`` over those summaries: however MRR is computed there, the
gauge follows. Read in the worker that answers the scrape (nothing per process to add up).
"""

import logging

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from billing_admin.dashboard.service import mrr_by_currency
from billing_admin.extensions import db
from billing_admin.metrics.instruments import count_database_error
from billing_admin.plans.service import plan_summaries

log = logging.getLogger("billing_admin.metrics")


class BillingCollector:
    """A prometheus_client custom collector (``collect`` yields metric families)."""

    def collect(self):
        try:
            summaries = plan_summaries()
        except SQLAlchemyError:
            db.session.rollback()
            count_database_error("unavailable")
            log.warning("metrics: the database did not answer; billing gauges left out")
            return
        subscriptions = GaugeMetricFamily(
            "billing_admin_subscriptions",
            "Subscriptions by plan and status (from the subscriber counts table).",
            labels=["plan", "status"],
        )
        for summary in summaries:
            for status, count in summary.counts.items():
                subscriptions.add_metric([summary.plan.id, status], count)
        mrr = GaugeMetricFamily(
            "billing_admin_mrr",
            "Monthly recurring revenue by currency, in units of the currency (as the dashboard).",
            labels=["currency"],
        )
        for currency, amount in mrr_by_currency(summaries).items():
            mrr.add_metric([currency], float(amount))
        yield subscriptions
        yield mrr
