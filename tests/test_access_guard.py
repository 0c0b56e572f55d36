"""Every route but sign-in, static files and /healthz refuses anonymous users and non-admins.

The routes come from the app's URL map, so a route added later is checked without anyone
having to remember to add it here.
"""

import pytest
import sqlalchemy as sa
from flask import Flask

from billing_admin.auth.guard import PUBLIC_ENDPOINTS, SIGNED_IN_ENDPOINTS
from billing_admin.extensions import db
from billing_admin.models import User

CHECKED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def guarded_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every method of every non-public route."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = rule.build({name: "x" for name in rule.arguments}, append_unknown=False)[1]
        routes += [
            (rule.endpoint, method, url) for method in sorted(rule.methods & set(CHECKED_METHODS))
        ]
    return routes


def test_only_sign_in_its_steps_set_password_links_static_and_healthz_are_public():
    assert (
        frozenset(
            {
                "auth.login",
                "static",
                "health.healthz",
                # Each requires this browser's pending sign-in at that step, or a link's token.
                "auth.second_factor",
                "auth.new_password",
                "auth.enrol",
                "accounts.set_password",
            }
        )
        == PUBLIC_ENDPOINTS
    )
    assert frozenset({"auth.logout"}) == SIGNED_IN_ENDPOINTS  # any signed-in user may sign out


def test_there_are_guarded_routes_to_check(app):
    endpoints = {endpoint for endpoint, _, _ in guarded_routes(app)}
    assert {"dashboard.home", "auth.logout", "api.whoami"} <= endpoints


def test_anonymous_requests_are_refused_everywhere(app, client):
    for endpoint, method, url in guarded_routes(app):
        response = client.open(url, method=method)
        if url.startswith("/api/"):
            assert response.status_code == 401, (endpoint, method)
            assert response.get_json() == {"detail": "Not authenticated"}
        else:
            assert response.status_code == 302, (endpoint, method)
            assert response.headers["Location"].startswith("/login?next="), (endpoint, method)


def test_non_admins_are_refused_everywhere(app, client, admin, auth):
    auth.login()
    db.session.execute(sa.update(User).where(User.id == admin.id).values(role="user"))
    db.session.commit()
    for endpoint, method, url in guarded_routes(app):
        if endpoint in SIGNED_IN_ENDPOINTS:
            continue
        response = client.open(url, method=method)
        assert response.status_code == 403, (endpoint, method)


def test_a_user_demoted_while_signed_in_can_still_sign_out(client, admin, auth):
    auth.login()
    token = auth.csrf_token("/admin/")
    db.session.execute(sa.update(User).where(User.id == admin.id).values(role="user"))
    db.session.commit()
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    with client.session_transaction() as session:
        assert "_user_id" not in session


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_api_is_read_only(admin_client, method):
    response = admin_client.open("/api/v1/whoami", method=method)
    assert response.status_code == 405
    assert response.get_json() == {"detail": "The API is read-only: use GET."}
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


# -- Roles: viewers read, and cannot write ------------------------------------------------------

from billing_admin.auth.guard import ADMIN_ONLY, SELF_SERVICE, route_access  # noqa: E402
from billing_admin.models import AuditLog  # noqa: E402

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# The writes a viewer may make: to their own account only. Adding one is a deliberate act.
VIEWER_WRITES = {
    "account.change_password",
    "account.enrol",
    "account.turn_off_second_factor",
    "account.end_session",
    "account.end_other_sessions",
    "language.switch",
}


def test_the_self_service_and_admin_only_markers_are_where_expected(app):
    with app.test_request_context():
        marked = {
            rule.endpoint: route_access(rule.endpoint)
            for rule in app.url_map.iter_rules()
            if route_access(rule.endpoint)
        }
    assert {e for e, access in marked.items() if access == SELF_SERVICE} == VIEWER_WRITES
    assert {e for e, access in marked.items() if access == ADMIN_ONLY} == {
        "accounts.index",
        "accounts.create",
        "accounts.change_role",
        "accounts.disable",
        "accounts.enable",
        "accounts.sign_out",
        "accounts.reset_second_factor",
        "accounts.password_link",
    }


def test_every_write_route_refuses_a_viewer(app, viewer_client):
    """Every POST, PUT, PATCH and DELETE of the URL map (pages and API), now and later."""
    checked = 0
    for endpoint, method, url in guarded_routes(app):
        if method not in WRITE_METHODS or endpoint in VIEWER_WRITES | SIGNED_IN_ENDPOINTS:
            continue
        response = viewer_client.open(url, method=method)
        expected = 405 if url.startswith("/api/") else 403  # the API has no write route yet
        assert response.status_code == expected, (endpoint, method)
        checked += 1
    assert checked >= 13
    db.session.rollback()
    denied = db.session.scalar(
        sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "access_denied")
    )
    assert denied >= 12  # every page refusal is in the audit log


def test_a_write_route_added_later_refuses_a_viewer_without_any_change(app_factory, viewer):
    """What another engineer's new route gets: a POST page and an API write, unmarked."""
    app = app_factory()

    @app.post("/admin/plans/<plan_id>/subscriptions/<sid>/cancel")
    def cancel_subscription(plan_id, sid):
        return "cancelled"

    @app.route("/api/v1/admin/billing/plans/<plan_id>", methods=["PUT"], endpoint="api_put")
    def api_put(plan_id):
        return {"ok": True}

    from tests.conftest import IsolatedClient
    from tests.helpers import VIEWER_EMAIL, VIEWER_PASSWORD, AuthActions

    app.test_client_class = IsolatedClient
    client = app.test_client()
    AuthActions(client).login(VIEWER_EMAIL, VIEWER_PASSWORD)
    token = AuthActions(client).csrf_token("/admin/")
    response = client.post("/admin/plans/pro/subscriptions/s1/cancel", data={"csrf_token": token})
    assert response.status_code == 403
    # Today every API write is 405; when the API opens to writes, viewers still get 403:
    from billing_admin.auth import guard

    with app.test_request_context("/api/v1/admin/billing/plans/pro", method="PUT"):
        user = db.session.get(User, viewer.id)
        with pytest.raises(Exception) as refused:
            guard._api_role_check(user)
        assert getattr(refused.value, "code", None) == 403


def test_viewers_read_every_page_and_the_api(app, viewer_client):
    for endpoint, method, url in guarded_routes(app):
        if method != "GET" or route_access(endpoint) == ADMIN_ONLY:
            continue
        if endpoint in (
            "plans.detail",
            "plans.edit",
            "plans.delete",
            "subscribers.index",
            "subscribers.export_csv",
            "api.get_plan",
            "api.plan_subscribers",
        ):
            continue  # need a real plan: below
        response = viewer_client.get(url)
        assert response.status_code in (200, 302), (endpoint, response.status_code)
    from tests.helpers import add_plan

    add_plan("pro")
    for url in (
        "/admin/plans/pro",
        "/admin/plans/pro/subscribers",
        "/admin/plans/pro/subscribers.csv",
        "/api/v1/admin/billing/plans/pro/subscribers",
        "/api/v1/whoami",
        "/admin/audit",
    ):
        assert viewer_client.get(url, buffered=True).status_code == 200, url
    assert viewer_client.get("/api/v1/whoami").get_json()["role"] == "user"


def test_a_viewer_sees_no_admin_navigation(viewer_client):
    page = viewer_client.get("/admin/").get_data(as_text=True)
    assert "/admin/accounts" not in page
    assert ">viewer<" in page
