from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from billing_admin.auth.forms import LoginForm
from billing_admin.auth.redirects import safe_next
from billing_admin.auth.service import authenticate, end_session, start_session
from billing_admin.metrics.instruments import count_sign_in

bp = Blueprint("auth", __name__)


def _after_sign_in() -> str:
    return safe_next(request.args.get("next"), default=url_for("dashboard.home"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and current_user.is_admin:
        return redirect(_after_sign_in())
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        outcome = authenticate(form.email.data, form.password.data, remote_addr=request.remote_addr)
        count_sign_in(succeeded=outcome.user is not None, locked_out=outcome.locked_seconds > 0)
        if outcome.user is not None:
            start_session(outcome.user)
            return redirect(_after_sign_in())
        error = outcome.message
    return render_template("auth/login.html", form=form, error=error)


@bp.post("/logout")
def logout():
    end_session(current_user._get_current_object())
    flash(gettext("You have been signed out."), "info")
    return redirect(url_for("auth.login"))
