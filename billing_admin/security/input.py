"""Input no part of the app can store or search for.

PostgreSQL refuses NUL characters in text, so a NUL in a query string or form field would fail
deep inside a query as a 500. Refused here, once, with a 400 instead.
"""

from flask import request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest

from billing_admin.i18n import N_

NUL_REFUSED = N_("Text must not contain NUL characters.")


def refuse_nul_characters() -> None:
    if "\x00" in request.path or any(
        "\x00" in key or "\x00" in value
        for source in (request.args, request.form)
        for key, values in source.lists()
        for value in values
    ):
        raise BadRequest(gettext(NUL_REFUSED))
