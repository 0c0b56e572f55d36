from flask import Blueprint, redirect, render_template, url_for

from billing_admin.dashboard import charts
from billing_admin.dashboard.service import overview
from billing_admin.formatting import display_zone
from billing_admin.reporting.charts import trend_chart

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    return redirect(url_for("dashboard.home"))


@bp.get("/admin/")
def home():
    figures = overview(display_zone())
    return render_template(
        "dashboard/home.html",
        figures=figures,
        subscribers_chart=charts.subscribers_chart(figures.plans),
        mrr_charts=charts.mrr_charts(figures.plans, figures.mrr_by_currency),
        trend_chart=trend_chart(figures.weeks),
    )
