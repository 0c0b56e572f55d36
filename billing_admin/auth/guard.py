"""One guard in front of every route: secure by default.

Every endpoint needs a signed-in admin unless it is listed in PUBLIC_ENDPOINTS, so a route added
later cannot forget its protection (tests/test_access_guard.py walks the URL map to prove it).

- Pages: anonymous → redirect to sign-in with ``next``; signed in but not admin → 403.
- ``/api/``: read-only (other methods → 405); a Bearer token or an admin's session; else a JSON
  401 with ``WWW-Authenticate: Bearer``, or 403.
- ``/metrics`` (METRICS_ENDPOINTS): for the monitoring system, not for people: allowed from the
  networks in ``METRICS_ALLOW`` or with ``METRICS_TOKEN`` (metrics_access.py), else 403 for
  everyone, admins included.
"""

from flask import g, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, MethodNotAllowed, Unauthorized

from billing_admin.auth.metrics_access import metrics_access
from billing_admin.auth.tokens import NOT_AUTHENTICATED, check_bearer

PUBLIC_ENDPOINTS = frozenset({"static", "auth.login", "health.healthz"})
# Neither public nor for admins: the monitoring system's, by network or token.
METRICS_ENDPOINTS = frozenset({"metrics.scrape"})
# Open to anyone signed in, admin or not: a user demoted while signed in can still sign out.
SIGNED_IN_ENDPOINTS = frozenset({"auth.logout"})
API_METHODS = ("GET", "HEAD", "OPTIONS")


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def require_admin():
    if request.endpoint in METRICS_ENDPOINTS:
        return _require_metrics_access()
    if is_api_request():
        return _require_api_admin()
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None  # unrouted requests fall through to their 404/405
    if not current_user.is_authenticated:
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=target))
    if not current_user.is_admin and request.endpoint not in SIGNED_IN_ENDPOINTS:
        raise Forbidden(gettext("You need an admin account to see this page."))
    return None


def _require_api_admin():
    if request.method not in API_METHODS:
        raise MethodNotAllowed(
            valid_methods=list(API_METHODS), description="The API is read-only: use GET."
        )
    if request.endpoint is None:
        return None
    authorization = request.headers.get("Authorization")
    if authorization:
        check = check_bearer(authorization)
        if check.user is None:
            _refuse(check.status, check.detail)
        g.api_user = check.user
        return None
    if not current_user.is_authenticated:
        _refuse(NOT_AUTHENTICATED.status, NOT_AUTHENTICATED.detail)
    if not current_user.is_admin:
        raise Forbidden("An admin account is needed.")
    g.api_user = current_user
    return None


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


def _refuse(status: int, detail: str):
    if status == 403:
        raise Forbidden(detail)
    raise Unauthorized(detail, www_authenticate=WWWAuthenticate("bearer"))
