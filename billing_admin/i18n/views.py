"""The language switcher: a POST from the navigation, then back to the page it was on."""

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from billing_admin.auth.redirects import safe_next
from billing_admin.i18n.service import UnknownLanguage, set_language

bp = Blueprint("language", __name__)


@bp.post("/account/language")
def switch():
    try:
        set_language(current_user._get_current_object(), request.form.get("locale", ""))
    except UnknownLanguage:
        abort(400, gettext("Unknown language: choose English or Русский."))
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.home")), 303)
