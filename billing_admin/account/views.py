"""/account: an account's own password, language, second factor and sessions. Every write here
is marked ``@self_service``: viewers may use them too (they change only the account itself).

The page is a list of sections (templates/account/index.html); a preference such as a time zone
goes in the "Preferences" section beside the language."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_login import current_user

from billing_admin.account import service
from billing_admin.account.forms import TimeZoneForm
from billing_admin.auth import second_factor as totp
from billing_admin.auth.forms import ChangePasswordForm, CodeForm
from billing_admin.auth.guard import self_service
from billing_admin.auth.service import enable_second_factor, set_own_password
from billing_admin.formatting import grouped
from billing_admin.forms import keeps_input
from billing_admin.zones import ZONE_NAMES

bp = Blueprint("account", __name__, url_prefix="/account")


def _user():
    return current_user._get_current_object()


def _time_zone_form(**kwargs) -> TimeZoneForm:
    return TimeZoneForm(default_zone=current_app.config["DISPLAY_TIMEZONE"], **kwargs)


def _render(password_form=None, time_zone_form=None, status: int = 200):
    user = _user()
    own_sessions, this_session = service.own_sessions(user)
    if time_zone_form is None:
        chosen = user.account.time_zone if user.account else None
        time_zone_form = _time_zone_form(formdata=None, time_zone=chosen or "")
    return (
        render_template(
            "account/index.html",
            # Forms not sent in this request are blank (formdata=None), each with a submission
            # token of its own rather than the one posted with the other form.
            password_form=password_form or ChangePasswordForm(formdata=None),
            time_zone_form=time_zone_form,
            zone_names=ZONE_NAMES,
            sessions=own_sessions,
            this_session=this_session,
            has_second_factor=bool(user.account and user.account.has_second_factor),
            recovery_codes_left=totp.recovery_codes_left(user.id),
        ),
        status,
    )


@bp.get("")
def index():
    return _render()


@bp.post("/password")
@keeps_input
@self_service
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        problem = set_own_password(_user(), form.current.data, form.password.data)
        if problem is None:
            flash(gettext("Your password was changed; your other sessions ended."), "success")
            return redirect(url_for("account.index"), 303)
        getattr(form, problem.field).errors.append(problem.message)
    return _render(form, status=422)


@bp.post("/time-zone")
@keeps_input
@self_service
def set_time_zone():
    form = _time_zone_form()
    if form.validate_on_submit():
        service.set_time_zone(_user(), form.chosen_zone)
        if form.chosen_zone:
            flash(gettext("Times are now shown in %(zone)s.", zone=form.chosen_zone), "success")
        else:
            flash(
                gettext(
                    "Times are now shown in the site's default zone, %(zone)s.",
                    zone=current_app.config["DISPLAY_TIMEZONE"],
                ),
                "success",
            )
        return redirect(url_for("account.index"), 303)
    return _render(time_zone_form=form, status=422)


@bp.route("/second-factor", methods=["GET", "POST"])
@keeps_input
@self_service
def enrol():
    user = _user()
    form = CodeForm()
    secret = session.get("enrol_secret")
    if not isinstance(secret, str) or request.method == "GET":
        secret = session["enrol_secret"] = totp.new_secret()
    if form.validate_on_submit():
        codes = enable_second_factor(user, secret, form.code.data)
        if codes is not None:
            session.pop("enrol_secret", None)
            return render_template(
                "account/recovery_codes.html", codes=codes, continue_to=url_for("account.index")
            )
        form.code.errors.append(gettext("That code is not right. Check the time on your phone."))
    return render_template(
        "auth/enrol.html", form=form, enrolment=totp.enrolment(user.email, secret)
    )


@bp.post("/second-factor/off")
@self_service
def turn_off_second_factor():
    if service.turn_off_second_factor(_user(), request.form.get("password", "")):
        flash(gettext("Your second factor was turned off."), "success")
    else:
        flash(gettext("The current password is not right."), "error")
    return redirect(url_for("account.index"), 303)


@bp.post("/sessions/<record_id>/end")
@self_service
def end_session(record_id: str):
    if service.end_session(_user(), record_id):
        flash(gettext("That session was signed out."), "success")
    else:
        flash(gettext("That session had already ended."), "info")
    return redirect(url_for("account.index"), 303)


@bp.post("/sessions/end-others")
@self_service
def end_other_sessions():
    ended = service.end_other_sessions(_user())
    flash(
        ngettext(
            "%(count)s other session was signed out.",
            "%(count)s other sessions were signed out.",
            ended,
            count=grouped(ended),
        ),
        "success",
    )
    return redirect(url_for("account.index"), 303)
