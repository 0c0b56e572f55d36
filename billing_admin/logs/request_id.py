"""Every request gets an id: ``X-Request-ID`` from the proxy when the app trusts one
(``TRUSTED_PROXIES`` ≥ 1) and the value is well formed, otherwise a new one. It is returned in
the ``X-Request-ID`` response header, printed in every log line of the request (handler.py) and
on error pages, so a user can quote it and an operator find the request's lines.

Well formed: 1 to 128 letters, digits, ``-``, ``_``, ``.`` or ``:`` (a UUID, nginx's
``$request_id``, most tracing ids). Anything else, including spaces, quotes and line breaks a
client could use to forge log lines, is ignored and a new id generated: the header is advice,
so a bad one is no reason to refuse the request.
"""

import re
import uuid

from flask import Flask, Response, current_app, g, has_request_context, request

HEADER = "X-Request-ID"
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def incoming_request_id() -> str | None:
    """The proxy's id for this request, if the app trusts proxies and the id is well formed."""
    if not current_app.config["TRUSTED_PROXIES"]:
        return None
    value = request.headers.get(HEADER)
    return value if value is not None and WELL_FORMED.fullmatch(value) else None


def current_request_id() -> str | None:
    """This request's id; None outside a request (a command, start-up)."""
    return g.get("request_id") if has_request_context() else None


def _assign() -> None:
    g.request_id = incoming_request_id() or new_request_id()


def _send(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id") or new_request_id()
    return response


def register_request_ids(app: Flask) -> None:
    """Call before any other ``before_request``: an error raised by a later one (the guard, the
    input check) must already have the id to show."""
    app.before_request(_assign)
    app.after_request(_send)
