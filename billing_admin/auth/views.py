"""Sign-in (each step), sign-out. The rules are in auth/service.py; throttling in throttle.py."""

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_login import current_user

from billing_admin.auth import second_factor as totp
from billing_admin.auth import service, throttle
from billing_admin.auth.forms import CodeForm, LoginForm, NewPasswordForm
from billing_admin.auth.redirects import safe_next
from billing_admin.extensions import db, limiter
from billing_admin.formatting import grouped
from billing_admin.forms import keeps_input
from billing_admin.transactions import start_write

bp = Blueprint("auth", __name__)


# -- The per-client limit (Flask-Limiter) on every step that checks a secret -------------------


def _client_limit() -> str:
    return current_app.config["SIGN_IN_CLIENT_LIMIT"]


def _step_failed(response) -> bool:
    # Only failed steps count against the client: a browser that signs in is never slowed.
    return bool(g.get("sign_in_failed"))


def _client_limited_message() -> str:
    return gettext("Too many failed sign-in attempts from your address. Try again later.")


def _client_limited(limit) -> None:
    pending = session.get("pending") or {}
    email = service.normalise_email(request.form.get("email") or pending.get("email") or "")
    start_write()
    service.record_sign_in_outcome("throttled", email=email, user=None, reason="client limit")
    db.session.commit()


sign_in_limit = limiter.limit(
    _client_limit,
    methods=["POST"],
    deduct_when=_step_failed,
    exempt_when=throttle.has_device_cookie,
    error_message=_client_limited_message,
    on_breach=_client_limited,
)


# -- Steps -------------------------------------------------------------------------------------


def _after_sign_in(target: str | None = None) -> str:
    return safe_next(target or request.args.get("next"), default=url_for("dashboard.home"))


STEP_ENDPOINTS = {
    "set_password": "auth.new_password",
    "second_factor": "auth.second_factor",
    "enrol": "auth.enrol",
}


def _continue(user, step: str | None, target: str | None):
    """To the next step of this sign-in, or into the dashboard when none is left."""
    if step is None:
        service.complete_sign_in(user)
        response = redirect(_after_sign_in(target))
        throttle.set_device_cookie(response, user.id)
        return response
    pending = dict(session["pending"])
    pending["next"] = target
    pending["email"] = user.email
    session["pending"] = pending
    return redirect(url_for(STEP_ENDPOINTS[step]))


@bp.route("/login", methods=["GET", "POST"])
@keeps_input
@sign_in_limit
def login():
    # A POST signs in anew even when signed in: the browser's old session ends (rotation).
    if (
        request.method == "GET"
        and current_user.is_authenticated
        and current_user.has_dashboard_access
    ):
        return redirect(_after_sign_in())
    form = LoginForm()
    if form.validate_on_submit():
        outcome = service.check_password(form.email.data, form.password.data)
        if outcome.user is not None:
            service.begin_pending(outcome.user)
            return _continue(
                outcome.user, service.next_step(outcome.user), request.args.get("next")
            )
        form.add_form_error(outcome.message)
    notices = []
    if request.args.get("idle"):
        minutes = current_app.config["SESSION_IDLE_MINUTES"]
        notices.append(
            ngettext(
                "You were signed out after %(count)s minute without activity.",
                "You were signed out after %(count)s minutes without activity.",
                minutes,
                count=grouped(minutes),
            )
        )
    if request.args.get("unsaved"):
        notices.append(
            gettext(
                "You were not signed in when you sent that form, so nothing was saved or done. "
                "Sign in, then do it again."
            )
        )
    return render_template("auth/login.html", form=form, notice=" ".join(notices) or None)


def _pending_or_restart(step: str):
    """The pending user if this browser is at ``step`` of a sign-in; else a redirect to start."""
    user = service.pending_user()
    if user is None or service.pending_next_step(user) != step:
        flash(gettext("Sign in first."), "info")
        return None, redirect(url_for("auth.login"))
    return user, None


def _target() -> str | None:
    return (session.get("pending") or {}).get("next")


@bp.route("/login/code", methods=["GET", "POST"])
@keeps_input
@sign_in_limit
def second_factor():
    user, restart = _pending_or_restart("second_factor")
    if restart:
        return restart
    form = CodeForm()
    if form.validate_on_submit():
        outcome = service.check_second_factor(user, form.code.data)
        if outcome.user is not None:
            service.pending_passed("second_factor")
            return _continue(outcome.user, service.pending_next_step(outcome.user), _target())
        form.add_form_error(outcome.message)
    return render_template("auth/code.html", form=form)


@bp.route("/login/new-password", methods=["GET", "POST"])
@keeps_input
@sign_in_limit
def new_password():
    user, restart = _pending_or_restart("set_password")
    if restart:
        return restart
    form = NewPasswordForm()
    if form.validate_on_submit():
        problem = service.set_own_password(user, None, form.password.data)
        if problem is None:
            user = service.pending_user()
            return _continue(user, service.pending_next_step(user), _target())
        form.password.errors.append(problem.message)
    return render_template("auth/new_password.html", form=form)


@bp.route("/login/second-factor", methods=["GET", "POST"])
@keeps_input
@sign_in_limit
def enrol():
    """REQUIRE_SECOND_FACTOR: an account without one sets it up before it gets in."""
    user, restart = _pending_or_restart("enrol")
    if restart:
        return restart
    form = CodeForm()
    secret = session.get("enrol_secret")
    if not isinstance(secret, str) or request.method == "GET":
        secret = session["enrol_secret"] = totp.new_secret()
    if form.validate_on_submit():
        codes = service.enable_second_factor(user, secret, form.code.data)
        if codes is not None:
            target = _target()
            service.complete_sign_in(user)
            response = current_app.make_response(
                render_template(
                    "account/recovery_codes.html",
                    codes=codes,
                    continue_to=_after_sign_in(target),
                )
            )
            throttle.set_device_cookie(response, user.id)
            return response
        form.code.errors.append(gettext("That code is not right. Check the time on your phone."))
    return render_template(
        "auth/enrol.html", form=form, enrolment=totp.enrolment(user.email, secret)
    )


@bp.post("/logout")
def logout():
    service.end_session(current_user._get_current_object())
    flash(gettext("You have been signed out."), "info")
    return redirect(url_for("auth.login"))
