"""One guard in front of every route: secure by default.

Every endpoint needs a signed-in account unless it is listed in PUBLIC_ENDPOINTS, and what the
account may do is decided here from its role and the request's method, so a route added later
cannot forget its protection (tests/test_access_guard.py walks the URL map to prove it):

- **admin**: everything.
- **viewer**: read-only. Every GET page (search, CSV, the read-only API) except routes marked
  ``@admin_only``; no POST, PUT, PATCH or DELETE except on routes marked ``@self_service``
  (the account's own password, second factor, sessions, language, and signing out).
- Anonymous: pages redirect to sign-in with ``next``; the API answers a JSON 401.
- Signed in without dashboard access (e.g. demoted by the platform): 403.

Every 403 the guard gives is written to the audit log (``access_denied``).

``/api/``: a Bearer token or the session. Reads (GET, HEAD, OPTIONS) for admins and viewers;
writes (POST, PUT, PATCH, DELETE, issue 14) for admins only, and with a token only when it is a
``write`` token (a ``read`` token's write is a 403 saying so). A session's write must carry the
CSRF token (``X-CSRFToken`` header) as a form does; a Bearer request needs none (a browser never
adds that header by itself, so no other site can make one). Role rules for the API are in
``_api_role_check``, apart from the token and method handling.

``/metrics`` (METRICS_ENDPOINTS) is for the monitoring system, not for people: allowed from the
networks in ``METRICS_ALLOW`` or with ``METRICS_TOKEN`` (metrics_access.py), else 403 for
everyone, admins included (not audited: no account is involved).
"""

from collections.abc import Callable

from flask import current_app, g, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, MethodNotAllowed, Unauthorized

from billing_admin.audit.service import ANONYMOUS, Actor, record_event
from billing_admin.auth.metrics_access import metrics_access
from billing_admin.auth.tokens import NOT_AUTHENTICATED, check_bearer, token_actor
from billing_admin.extensions import csrf

PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "auth.login",
        "health.healthz",
        # The steps of a sign-in in progress; each view requires the pending sign-in its own
        # step belongs to (auth/service.py: pending_user), and a set-password link's token.
        "auth.second_factor",
        "auth.new_password",
        "auth.enrol",
        "accounts.set_password",
    }
)
# Neither public nor for accounts: the monitoring system's, by network or token.
METRICS_ENDPOINTS = frozenset({"metrics.scrape"})
# Open to anyone signed in, whatever their role (even none): a user demoted while signed in can
# still sign out.
SIGNED_IN_ENDPOINTS = frozenset({"auth.logout"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
READ_ONLY_TOKEN = (
    "This token may only read (scope 'read'). Writes need a token made with "
    "'flask create-api-token --scope write'."
)

SELF_SERVICE = "self_service"
ADMIN_ONLY = "admin_only"


def self_service(view: Callable) -> Callable:
    """Marks a view any signed-in account may use with any method: it changes only the
    account's own settings (password, second factor, sessions, language)."""
    view.access = SELF_SERVICE
    return view


def admin_only(view: Callable) -> Callable:
    """Marks a view only admins may use, even to read (account management)."""
    view.access = ADMIN_ONLY
    return view


def route_access(endpoint: str | None) -> str | None:
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return getattr(view, "access", None)


# Pages under /api/ (for people, not scripts): guarded and answered as pages.
API_PAGES = frozenset({"api_docs.reference"})


def is_api_request() -> bool:
    return request.path.startswith("/api/") and request.endpoint not in API_PAGES


def allowed(role: str | None, method: str, endpoint: str) -> bool:
    """May an account with ``role`` use ``endpoint`` with ``method``? (Pages; and the API
    through ``_api_role_check``.)"""
    if role == "admin" or endpoint in SIGNED_IN_ENDPOINTS:
        return True
    if role != "viewer":
        return False
    access = route_access(endpoint)
    if access == SELF_SERVICE:
        return True
    if access == ADMIN_ONLY:
        return False
    return method in READ_METHODS


def may(endpoint: str, method: str = "POST") -> bool:
    """Would this guard let the signed-in account use ``endpoint`` with ``method``? Pages show
    only the controls it would allow (a viewer sees no Edit, Delete or Move), so the rule stays
    in one place. A template global."""
    if not current_user.is_authenticated:
        return False
    return allowed(current_user.dashboard_role, method, endpoint)


def require_access():
    if request.endpoint in METRICS_ENDPOINTS:
        return _require_metrics_access()
    if is_api_request():
        return _require_api_access()
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None  # unrouted requests fall through to their 404/405
    if not current_user.is_authenticated:
        reasons = {"idle": 1} if g.get("session_ended_idle") else {}
        if request.method not in READ_METHODS:  # a form sent after signing out elsewhere
            reasons["unsaved"] = 1
        return redirect(url_for("auth.login", next=_here(), **reasons))
    if not allowed(current_user.dashboard_role, request.method, request.endpoint):
        _deny(current_user, gettext("Your account may not do this."))
    return None


def _here() -> str:
    return request.full_path if request.query_string else request.path


def _deny(user, description: str):
    """403, written to the audit log first (its own unit of work)."""
    actor = Actor.for_user(user) if user is not None else ANONYMOUS
    record_event(
        "access_denied",
        "account",
        user.id if user is not None else "",
        actor=actor,
        metadata={
            "method": request.method,
            "path": request.path[:200],
            "role": getattr(user, "dashboard_role", None),
            "address": request.remote_addr,
        },
    )
    raise Forbidden(description)


def _require_api_access():
    if request.method not in API_METHODS:
        raise MethodNotAllowed(valid_methods=list(API_METHODS))
    if request.endpoint is None:
        return None
    authorization = request.headers.get("Authorization")
    if authorization:
        check = check_bearer(authorization)
        if check.user is None:
            if check.status == 403:
                _deny(check.owner, check.detail)
            raise Unauthorized(check.detail, www_authenticate=WWWAuthenticate("bearer"))
        g.api_user = check.user
        g.api_actor = token_actor(check.token)
        g.api_owner = f"token:{check.token.id}"  # whose Idempotency-Keys (api/idempotency.py)
        _api_role_check(g.api_user)
        if request.method not in READ_METHODS and not check.token.may_write:
            _deny(check.user, READ_ONLY_TOKEN)
        return None
    if not current_user.is_authenticated:
        raise Unauthorized(NOT_AUTHENTICATED.detail, www_authenticate=WWWAuthenticate("bearer"))
    g.api_user = current_user
    g.api_actor = Actor.for_user(current_user)
    g.api_owner = f"session:{current_user.id}"
    _api_role_check(g.api_user)
    if request.method not in READ_METHODS:
        # A browser sends the session cookie with any site's request: the session's writes need
        # the CSRF token in the X-CSRFToken header (a CSRFError: 400 with a JSON detail).
        csrf.protect()
    return None


def _api_role_check(user) -> None:
    """Admins: everything the API offers. Viewers: reading only. Anyone else: 403."""
    role = user.dashboard_role
    if role == "admin":
        return
    if role == "viewer" and request.method in READ_METHODS:
        return
    _deny(user, "An admin account is needed." if role is None else "Viewers may only read.")


def _require_metrics_access():
    access = metrics_access()
    if not access.allowed:
        raise Forbidden(
            gettext(
                "Metrics are served only to the monitoring networks (METRICS_ALLOW) or with "
                "the metrics token."
            )
        )
    return None
