"""One error handler for every HTTP error: JSON ``{"detail": ...}`` under ``/api/``, else a page."""

from flask import Flask, jsonify, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError

from billing_admin.auth.guard import is_api_request
from billing_admin.extensions import db

CSRF_EXPIRED = (
    "This form has expired or was not sent from this site. Reload the page and try again."
)


def render_error(error: HTTPException):
    if is_api_request():
        body = jsonify(detail=error.description)
    else:
        body = render_template("errors/error.html", error=error)
    # Keep what the error itself says in headers (WWW-Authenticate, Allow), not its body type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return body, error.code, headers


def render_csrf_error(error: CSRFError):
    return render_error(BadRequest(CSRF_EXPIRED))


def render_internal_error(error: InternalServerError):
    # Flask has already logged the unhandled exception with its traceback (app.log_exception);
    # here we only undo the failed unit of work and show a plain message.
    db.session.rollback()
    return render_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(CSRFError, render_csrf_error)
    app.register_error_handler(InternalServerError, render_internal_error)
