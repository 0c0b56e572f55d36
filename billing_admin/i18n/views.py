"""The language switcher: a POST from the navigation, then back to the page it was on."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from billing_admin.auth.guard import self_service
from billing_admin.auth.redirects import safe_next
from billing_admin.i18n.service import UnknownLanguage, set_language

bp = Blueprint("language", __name__)


@bp.post("/account/language")
@self_service
def switch():
    try:
        set_language(current_user._get_current_object(), request.form.get("locale", ""))
    except UnknownLanguage:
        abort(400, gettext("Unknown language: choose English or Русский."))
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.home")), 303)


@bp.app_template_global()
def language_return_path() -> str:
    """Where the switcher brings the admin back: this page. A page that answers a POST (a form
    with errors, an error page) cannot be fetched again by its address (a POST-only address
    would answer 405), so there: the page the form was on, from the Referer when it is one of
    ours (Referrer-Policy: same-origin sends it only to us), else the dashboard."""
    if request.method == "GET":
        return request.full_path if request.query_string else request.path
    home = url_for("dashboard.home")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return home
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""), home)
