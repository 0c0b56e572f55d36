from copy import copy
from decimal import Decimal

from flask import Blueprint, redirect, render_template, url_for

from billing_admin import formatting
from billing_admin.dashboard import charts
from billing_admin.dashboard.service import overview

bp = Blueprint("dashboard", __name__)


@bp.app_template_filter("percent")
def percent(fraction: Decimal | float | None) -> str:
    """A share or a rate with one decimal, as the language writes percentages: 0.162 → "16.2%" /
    "16,2 %"; None → "—"."""
    if fraction is None:
        return "—"
    here = formatting.request_locale()
    # The language's own percent pattern ("#,##0%", "#,##0 %"), with one decimal place.
    pattern = copy(here.percent_formats[None])
    pattern.frac_prec = (1, 1)
    return pattern.apply(fraction, here)


@bp.get("/")
def index():
    return redirect(url_for("dashboard.home"))


@bp.get("/admin/")
def home():
    figures = overview()
    return render_template(
        "dashboard/home.html",
        figures=figures,
        subscribers_chart=charts.subscribers_chart(figures.plans),
        mrr_charts=charts.mrr_charts(figures.plans, figures.mrr_by_currency),
        trend_chart=charts.trend_chart(figures.weeks),
    )
