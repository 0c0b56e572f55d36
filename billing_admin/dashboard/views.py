from flask import Blueprint, redirect, render_template, url_for

from billing_admin.dashboard.service import overview_counts

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    return redirect(url_for("dashboard.home"))


@bp.get("/admin/")
def home():
    return render_template("dashboard/home.html", counts=overview_counts())
