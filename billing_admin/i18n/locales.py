"""Which language a request is answered in, and in which time zone its times are shown
(Flask-Babel's locale and time zone selectors)."""

from flask import g, has_request_context, request
from flask_login import current_user

from billing_admin.zones import zone_name

DEFAULT_LOCALE = "en"
# Code → the language's own name, as the switcher shows it.
LANGUAGES = {"en": "English", "ru": "Русский"}


def select_locale() -> str:
    if not has_request_context() or request.path.startswith("/api/"):
        return DEFAULT_LOCALE
    # While the database is down the error page must not load the user (errors/handlers.py
    # replaces them with an anonymous one); the browser's preference still applies.
    if not g.get("database_unavailable"):
        chosen = getattr(current_user, "locale", None)
        if chosen in LANGUAGES:
            return chosen
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LOCALE)


def select_timezone() -> str | None:
    """The signed-in admin's own zone (``admin_account.time_zone``, chosen on /account); None
    (Flask-Babel's default: ``DISPLAY_TIMEZONE``) for everyone else, for the JSON API, while
    the database is down, or if a stored name is no longer in the tz database."""
    if not has_request_context() or request.path.startswith("/api/"):
        return None
    if g.get("database_unavailable") or not getattr(current_user, "is_authenticated", False):
        return None
    account = getattr(current_user, "account", None)
    return zone_name(account.time_zone) if account is not None else None
