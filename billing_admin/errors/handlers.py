"""One error handler for every HTTP error: JSON ``{"detail": ...}`` under ``/api/``, else a page."""

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, ServiceUnavailable

from billing_admin.auth.guard import is_api_request
from billing_admin.extensions import db, login_manager

CSRF_EXPIRED = (
    "This form has expired or was not sent from this site. Reload the page and try again."
)
DATABASE_UNAVAILABLE = "The database is unavailable. Nothing was changed; try again in a moment."


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


def render_database_unavailable(error: DBAPIError):
    """The database did not answer (down, restarting, unreachable): 503, logged, no traceback
    to the client. The pool's pre-ping replaces dead connections, so once the database is back
    the next request works without a restart. Other database errors are bugs: a 500."""
    if not isinstance(error, OperationalError | InterfaceError):
        return render_internal_error(InternalServerError(original_exception=error))
    current_app.logger.error(
        "database unavailable on %s %s: %s", request.method, request.path, error.orig or error
    )
    _forget_user()
    _undo_unit_of_work()
    return render_error(ServiceUnavailable(DATABASE_UNAVAILABLE))


def _undo_unit_of_work() -> None:
    """Roll the request's session back; if the connection is dead, discard the session."""
    try:
        db.session.rollback()
    except DBAPIError:
        db.session.remove()


def _forget_user() -> None:
    """The error page must not ask a failing database who is signed in: Flask-Login loads the
    user for every template (its context processor) unless this request already has one in
    ``g._login_user``, its own cache. An anonymous user there means no query."""
    g.database_unavailable = True
    g._login_user = login_manager.anonymous_user()


def render_internal_error(error: InternalServerError):
    original = getattr(error, "original_exception", None)
    if isinstance(original, DBAPIError) and not isinstance(original, InternalServerError):
        _forget_user()
        current_app.logger.error(
            "database error on %s %s", request.method, request.path, exc_info=original
        )
    # Flask has already logged any other unhandled exception with its traceback
    # (app.log_exception); here we only undo the failed unit of work and show a plain message.
    _undo_unit_of_work()
    return render_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DBAPIError, render_database_unavailable)
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(CSRFError, render_csrf_error)
    app.register_error_handler(InternalServerError, render_internal_error)
