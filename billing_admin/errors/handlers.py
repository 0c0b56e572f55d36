"""One error handler for every HTTP error: JSON ``{"detail": ...}`` under ``/api/``, else a page."""

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    SecurityError,
    ServiceUnavailable,
    default_exceptions,
)

from billing_admin.auth.guard import is_api_request
from billing_admin.auth.redirects import safe_next
from billing_admin.extensions import db, login_manager
from billing_admin.i18n import N_
from billing_admin.metrics.instruments import count_database_error

CSRF_EXPIRED = N_(
    "This form has expired or was not sent from this site. Reload the page and try again."
)
CSRF_EXPIRED_ACTION = N_(
    "This page had expired (or you signed in again elsewhere), so nothing was done. Press the "
    "button again."
)
DATABASE_UNAVAILABLE = N_(
    "The database is unavailable. Nothing was changed; try again in a moment."
)

# An error page's heading. Werkzeug names the status in English; the msgids are its names, so
# the English page reads as before. Other codes keep werkzeug's name.
ERROR_TITLES = {
    400: lazy_gettext("Bad Request"),
    401: lazy_gettext("Unauthorized"),
    403: lazy_gettext("Forbidden"),
    404: lazy_gettext("Not Found"),
    405: lazy_gettext("Method Not Allowed"),
    409: lazy_gettext("Conflict"),
    413: lazy_gettext("Request Entity Too Large"),
    422: lazy_gettext("Unprocessable Entity"),
    429: lazy_gettext("Too Many Requests"),
    500: lazy_gettext("Internal Server Error"),
    503: lazy_gettext("Service Unavailable"),
}
# Werkzeug's default descriptions (English), shown when an error was raised without its own.
DEFAULT_DESCRIPTIONS = {
    400: lazy_gettext(
        "The browser (or proxy) sent a request that this server could not understand."
    ),
    401: lazy_gettext(
        "The server could not verify that you are authorized to access the URL requested. You"
        " either supplied the wrong credentials (e.g. a bad password), or your browser doesn't"
        " understand how to supply the credentials required."
    ),
    403: lazy_gettext(
        "You don't have the permission to access the requested resource. It is either"
        " read-protected or not readable by the server."
    ),
    404: lazy_gettext(
        "The requested URL was not found on the server. If you entered the URL manually please"
        " check your spelling and try again."
    ),
    405: lazy_gettext("The method is not allowed for the requested URL."),
    409: lazy_gettext(
        "A conflict happened while processing the request. The resource might have been"
        " modified while the request was being processed."
    ),
    413: lazy_gettext("The data value transmitted exceeds the capacity limit."),
    422: lazy_gettext(
        "The request was well-formed but was unable to be followed due to semantic errors."
    ),
    429: lazy_gettext("This user has exceeded an allotted request count. Try again later."),
    500: lazy_gettext(
        "The server encountered an internal error and was unable to complete your request."
        " Either the server is overloaded or there is an error in the application."
    ),
    503: lazy_gettext(
        "The server is temporarily unable to service your request due to maintenance downtime"
        " or capacity problems. Please try again later."
    ),
}


def error_title(error: HTTPException) -> str:
    title = ERROR_TITLES.get(error.code)
    return str(title) if title is not None else error.name


def error_description(error: HTTPException) -> str | None:
    """The error's own description (translated where it was raised), or, when it is werkzeug's
    English default for the status, our translation of that default."""
    default = default_exceptions.get(error.code)
    translated = DEFAULT_DESCRIPTIONS.get(error.code)
    if default is not None and translated is not None and error.description == default.description:
        return str(translated)
    return error.description


def render_error(error: HTTPException):
    if is_api_request():
        body = jsonify(detail=error.description)
    else:
        body = render_template(
            "errors/error.html",
            error=error,
            title=error_title(error),
            description=error_description(error),
        )
    # Keep what the error itself says in headers (WWW-Authenticate, Allow), not its body type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return body, error.code, headers


LIMIT_STORE_UNAVAILABLE = N_(
    "Signing in is unavailable for a moment (the sign-in limit store does not answer). "
    "Nothing was changed; try again in a moment."
)


def render_limit_store_unavailable(error: RedisError):
    """Redis (RATELIMIT_STORAGE_URI) did not answer: sign-in fails closed with a 503 rather than
    go on without its per-client limit; logged, no traceback to the client."""
    current_app.logger.error(
        "rate-limit storage unavailable on %s %s: %s", request.method, request.path, error
    )
    return render_error(ServiceUnavailable(gettext(LIMIT_STORE_UNAVAILABLE)))


def render_untrusted_host(error: SecurityError):
    """A Host header not in TRUSTED_HOSTS. No URL can be built for such a request (nor should
    one be: it would carry the host), so a plain text answer, the same in every language."""
    return (
        "400 Bad Request: this host name is not served here.\n",
        400,
        {"Content-Type": "text/plain; charset=utf-8"},
    )


# The API speaks English to scripts (i18n/locales.py); a session's API write without the token.
API_CSRF_MISSING = (
    "The CSRF token is missing or invalid: a write made with a browser session must send the "
    "page's CSRF token in the X-CSRFToken header (or use a Bearer token)."
)


def render_csrf_error(error: CSRFError):
    """A POST whose CSRF token expired or belongs to an earlier session (the admin signed in
    again in another tab) loses nothing (docs/forms.md): a view marked ``keeps_input`` runs
    again on this request, and its form, failing the same check, comes back with every value
    typed, a fresh token and a message to submit again; any other POST (a one-button action)
    goes back to the page it was sent from, saying nothing was done. The API, a request that
    is no POST, and a POST that did not come from our own pages get the 400."""
    if is_api_request():
        return render_error(BadRequest(API_CSRF_MISSING))
    if request.method != "POST" or not _sent_from_this_site():
        return render_error(BadRequest(gettext(CSRF_EXPIRED)))
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "keeps_input", False):
        return current_app.ensure_sync(view)(**(request.view_args or {}))
    flash(gettext(CSRF_EXPIRED_ACTION), "error")
    return redirect(_page_sent_from(), 303)


def _sent_from_this_site() -> bool:
    """Whether the browser says the POST came from one of our pages (Origin, which browsers
    send with every form POST, else the Referer; Sec-Fetch-Site where sent). A POST from another
    site gets the plain 400: showing its values in our form would let that site pre-fill a form
    for the admin to submit."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
        return False
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == request.host_url.rstrip("/")
    return bool(request.referrer) and urlsplit(request.referrer).netloc == request.host


def _page_sent_from() -> str:
    """The page the form was on: the Referer when it is one of ours (Referrer-Policy:
    same-origin sends it only to us), else the dashboard."""
    home = url_for("dashboard.home")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return home
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""), home)


def render_database_unavailable(error: DBAPIError):
    """The database did not answer (down, restarting, unreachable): 503, logged, no traceback
    to the client. The pool's pre-ping replaces dead connections, so once the database is back
    the next request works without a restart. Other database errors are bugs: a 500."""
    if not isinstance(error, OperationalError | InterfaceError):
        return render_internal_error(InternalServerError(original_exception=error))
    count_database_error("unavailable")
    current_app.logger.error(
        "database unavailable on %s %s: %s", request.method, request.path, error.orig or error
    )
    _forget_user()
    _undo_unit_of_work()
    return render_error(ServiceUnavailable(gettext(DATABASE_UNAVAILABLE)))


def _undo_unit_of_work() -> None:
    """Roll the request's session back; if the connection is dead, discard the session."""
    try:
        db.session.rollback()
    except DBAPIError:
        db.session.remove()


def _forget_user() -> None:
    """The error page must not ask a failing database who is signed in: Flask-Login loads the
    user for every template (its context processor) unless this request already has one in
    ``g._login_user``, its own cache. An anonymous user there means no query.

    The page is still in the admin's own language when their user was loaded before the failure
    with the language in hand: the locale is chosen now, without the database, and kept for the
    request (Flask-Babel caches it). Otherwise the browser's language applies."""
    loaded = sa.inspect(g.get("_login_user"), raiseerr=False)
    if loaded is not None and "locale" in loaded.dict:
        get_locale()
    g.database_unavailable = True
    g._login_user = login_manager.anonymous_user()


def render_internal_error(error: InternalServerError):
    original = getattr(error, "original_exception", None)
    if isinstance(original, DBAPIError) and not isinstance(original, InternalServerError):
        count_database_error("error")
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
    app.register_error_handler(SecurityError, render_untrusted_host)
    app.register_error_handler(RedisError, render_limit_store_unavailable)
    app.register_error_handler(InternalServerError, render_internal_error)
