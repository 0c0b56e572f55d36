"""``/api/docs``: the API's OpenAPI document rendered by Swagger UI, for signed-in accounts, as
the original's FastAPI offered ``/docs``.

Swagger UI is vendored (static/vendor/swagger-ui, from the npm registry, with its licence); the
page loads nothing from elsewhere and runs under the app's own Content-Security-Policy
(security/headers.py: scripts, styles and connections from this site only, no 'unsafe-inline'
or 'unsafe-eval'): Swagger UI 5 needs nothing more, which tests/browser/test_api_docs.py proves
(its browser fixture fails on any CSP violation). "Try it out" calls the API with the browser's
session, so its writes carry the CSRF token (static/js/api-docs.js).
"""

from flask import Blueprint, render_template, url_for

bp = Blueprint("api_docs", __name__)


@bp.get("/api/docs")
def reference():
    return render_template("api/docs.html", spec_url=url_for("api.openapi"))
