"""Which language a request is answered in (Flask-Babel's locale selector)."""

from flask import g, has_request_context, request
from flask_login import current_user

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
