"""Saving an admin's language."""

from billing_admin.extensions import db
from billing_admin.i18n.locales import LANGUAGES
from billing_admin.models import User
from billing_admin.transactions import start_write


class UnknownLanguage(ValueError):
    pass


def set_language(user: User, locale: str) -> bool:
    """Remember ``locale`` for ``user``; False if it already was their language."""
    if locale not in LANGUAGES:
        raise UnknownLanguage(locale)
    if user.locale == locale:
        return False
    start_write()
    user.locale = locale
    db.session.commit()
    return True
