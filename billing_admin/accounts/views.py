"""/admin/accounts (admins only) and the set-password links it hands out. Thin: parse, call
accounts/service.py, render."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from billing_admin.accounts import service
from billing_admin.accounts.forms import ROLE_CHOICES, NewAccountForm
from billing_admin.accounts.labels import TEMPLATE_FILTERS
from billing_admin.audit.service import Actor
from billing_admin.auth.forms import NewPasswordForm
from billing_admin.auth.guard import admin_only
from billing_admin.bidi import isolate
from billing_admin.forms import keeps_input

bp = Blueprint("accounts", __name__)
for _name, _label in TEMPLATE_FILTERS.items():
    bp.add_app_template_filter(_label, _name)


def _actor() -> Actor:
    return Actor.for_user(current_user)


def _render_list(form: NewAccountForm, status: int = 200):
    return (
        render_template(
            "accounts/list.html",
            accounts=service.list_accounts(),
            form=form,
            roles=ROLE_CHOICES,
        ),
        status,
    )


@bp.get("/admin/accounts")
@admin_only
def index():
    return _render_list(NewAccountForm())


@bp.post("/admin/accounts")
@keeps_input
@admin_only
def create():
    form = NewAccountForm()
    if form.validate_on_submit():
        try:
            user, token = service.create_account(
                form.email.data, form.name.data or "", form.role.data, _actor()
            )
        except service.AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            return _render_link(user, token, created=True)
    return _render_list(form, 422)


def _render_link(user, token: str, *, created: bool):
    """The set-password link, shown once, in this answer only (never stored in a cookie)."""
    return render_template(
        "accounts/link.html",
        account=user,
        link=url_for("accounts.set_password", token=token, _external=True),
        created=created,
    )


def _act(action, message: str, user_id: str):
    try:
        user = action(user_id, _actor())
    except service.AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(message % {"email": isolate(user.email)}, "success")
    return redirect(url_for("accounts.index"), 303)


@bp.post("/admin/accounts/<user_id>/role")
@admin_only
def change_role(user_id: str):
    role = request.form.get("role", "")
    try:
        user = service.change_role(user_id, role, _actor())
    except service.AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(gettext("%(email)s's role was changed.", email=isolate(user.email)), "success")
    return redirect(url_for("accounts.index"), 303)


@bp.post("/admin/accounts/<user_id>/disable")
@admin_only
def disable(user_id: str):
    return _act(service.disable, gettext("%(email)s was disabled and signed out."), user_id)


@bp.post("/admin/accounts/<user_id>/enable")
@admin_only
def enable(user_id: str):
    return _act(service.enable, gettext("%(email)s was enabled."), user_id)


@bp.post("/admin/accounts/<user_id>/sign-out")
@admin_only
def sign_out(user_id: str):
    try:
        service.sign_out_everywhere(user_id, _actor())
    except service.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("accounts.index"), 303)
    if user_id == current_user.id:
        return redirect(url_for("auth.login"), 303)
    flash(gettext("The account was signed out everywhere."), "success")
    return redirect(url_for("accounts.index"), 303)


@bp.post("/admin/accounts/<user_id>/reset-second-factor")
@admin_only
def reset_second_factor(user_id: str):
    return _act(
        service.reset_second_factor,
        gettext("%(email)s's second factor was removed; their sessions ended."),
        user_id,
    )


@bp.post("/admin/accounts/<user_id>/password-link")
@admin_only
def password_link(user_id: str):
    try:
        user, token = service.new_password_link(user_id, _actor())
    except service.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("accounts.index"), 303)
    return _render_link(user, token, created=False)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@keeps_input
def set_password(token: str):
    """Public (the token is the credential): choose a password with a link from an admin."""
    user = service.link_user(token)
    if user is None:
        abort(404, gettext("This link is not valid: it has been used or has expired."))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            problem = service.set_password_with_link(token, form.password.data)
        except service.AccountError as exc:
            abort(404, str(exc))
        if problem is None:
            flash(gettext("Your password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"), 303)
        form.password.errors.append(problem)
    return render_template("accounts/set_password.html", form=form, account=user)
