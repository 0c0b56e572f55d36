"""The dashboard's charts, from the figures of dashboard/service.py; the shapes are drawn by
reporting/charts.py."""

from flask_babel import gettext, lazy_pgettext

from billing_admin import formatting
from billing_admin.reporting.charts import Chart, amount, stacked_bars
from billing_admin.reporting.counts import ACTIVE_STATUSES

# A legend names a group of subscriptions ("Активные"), where a badge names one subscription's
# status ("активна"): a context of their own.
LEGEND_LABELS = {
    "active": lazy_pgettext("chart legend", "Active"),
    "trialing": lazy_pgettext("chart legend", "Trialing"),
}


def subscribers_chart(plans) -> Chart:
    names = [formatting.plan_name(share.summary.plan) for share in plans]
    return stacked_bars(
        id="chart-subscribers",
        title=gettext("Active subscribers per plan, by status"),
        x_axis=gettext("Plan"),
        y_axis=gettext("Subscribers"),
        categories=names,
        series=[
            (status, str(LEGEND_LABELS[status]), [share.summary.counts[status] for share in plans])
            for status in ACTIVE_STATUSES
        ],
        whole_numbers=True,
    )


def mrr_charts(plans, mrr_by_currency) -> list[Chart]:
    """One chart a currency: amounts in different currencies never share an axis. A plan is on
    the chart of each currency its MRR has (its own, and any older price's)."""
    result = []
    for currency in mrr_by_currency:
        in_currency = [share for share in plans if currency in share.summary.mrr]
        result.append(
            stacked_bars(
                id=f"chart-mrr-{currency.lower()}",
                title=gettext("MRR per plan, %(currency)s", currency=currency),
                x_axis=gettext("Plan"),
                y_axis=gettext("MRR (%(currency)s)", currency=currency),
                categories=[formatting.plan_name(share.summary.plan) for share in in_currency],
                series=[
                    (
                        "mrr",
                        gettext("MRR"),
                        [float(share.summary.mrr[currency]) for share in in_currency],
                    )
                ],
                format_value=amount,
            )
        )
    return result
