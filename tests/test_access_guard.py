"""Every route but sign-in, static files and /healthz refuses anonymous users and non-admins;
/metrics answers only the monitoring networks or its token, and no one else, admins included.

The routes come from the app's URL map, so a route added later is checked without anyone
having to remember to add it here. The walks run from an address outside METRICS_ALLOW, as
someone on the internet would.
"""

import re

import pytest
import sqlalchemy as sa
from flask import Flask

from billing_admin.auth.guard import (
    API_PAGES,
    METRICS_ENDPOINTS,
    PUBLIC_ENDPOINTS,
    SIGNED_IN_ENDPOINTS,
)
from billing_admin.extensions import db
from billing_admin.models import User

CHECKED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
OUTSIDE = "203.0.113.7"  # TEST-NET-3: not loopback, not in METRICS_ALLOW
METRICS_REFUSAL = (
    "Metrics are served only to the monitoring networks (METRICS_ALLOW) or with the metrics token."
)
METRICS_TOKEN = "m" * 32


def guarded_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every method of every non-public route."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        # Any value the argument's converter accepts: the guard answers before the view looks.
        converters = dict(
            (name, converter) for converter, name in re.findall(r"<(?:(\w+)[:(])?(\w+)", rule.rule)
        )
        values = {name: 1 if converters.get(name) == "int" else "x" for name in rule.arguments}
        url = rule.build(values, append_unknown=False)[1]
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
    assert frozenset({"metrics.scrape"}) == METRICS_ENDPOINTS  # the monitoring system's


def test_there_are_guarded_routes_to_check(app):
    endpoints = {endpoint for endpoint, _, _ in guarded_routes(app)}
    assert {"dashboard.home", "auth.logout", "api.whoami", "metrics.scrape"} <= endpoints
    # Issue 12's routes: the move preview (GET and POST) and continuing a stopped move.
    assert {"plans.move_to_current_price", "plans.continue_move"} <= endpoints


def test_the_price_move_routes_are_walked_with_every_method(app):
    walked = {(endpoint, method, url) for endpoint, method, url in guarded_routes(app)}
    assert {
        ("plans.move_to_current_price", "GET", "/admin/plans/x/prices/move"),
        ("plans.move_to_current_price", "POST", "/admin/plans/x/prices/move"),
        ("plans.continue_move", "POST", "/admin/plans/x/prices/moves/1/continue"),
    } <= walked


def assert_metrics_refused(response, endpoint, method) -> None:
    assert response.status_code == 403, (endpoint, method)
    assert METRICS_REFUSAL in response.get_data(as_text=True), (endpoint, method)
    assert "billing_admin_" not in response.get_data(as_text=True)


def test_anonymous_requests_are_refused_everywhere(app, client):
    client.environ_base["REMOTE_ADDR"] = OUTSIDE
    for endpoint, method, url in guarded_routes(app):
        response = client.open(url, method=method)
        if endpoint in METRICS_ENDPOINTS:
            assert_metrics_refused(response, endpoint, method)
        elif url.startswith("/api/") and endpoint not in API_PAGES:
            assert response.status_code == 401, (endpoint, method)
            assert response.get_json() == {"detail": "Not authenticated"}
        else:
            assert response.status_code == 302, (endpoint, method)
            assert response.headers["Location"].startswith("/login?next="), (endpoint, method)


def test_non_admins_are_refused_everywhere(app, client, admin, auth):
    client.environ_base["REMOTE_ADDR"] = OUTSIDE
    auth.login()
    db.session.execute(sa.update(User).where(User.id == admin.id).values(role="user"))
    db.session.commit()
    for endpoint, method, url in guarded_routes(app):
        if endpoint in SIGNED_IN_ENDPOINTS:
            continue
        response = client.open(url, method=method)
        assert response.status_code == 403, (endpoint, method)


def test_an_admin_session_does_not_open_metrics_from_outside(app, admin_client):
    admin_client.environ_base["REMOTE_ADDR"] = OUTSIDE
    assert admin_client.get("/admin/").status_code == 200
    for endpoint, method, url in guarded_routes(app):
        if endpoint in METRICS_ENDPOINTS:
            assert_metrics_refused(admin_client.open(url, method=method), endpoint, method)


def metrics_urls(app) -> list[str]:
    return [
        url
        for endpoint, method, url in guarded_routes(app)
        if endpoint in METRICS_ENDPOINTS and method == "GET"
    ]


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_metrics_answer_loopback_by_default(app, client, address):
    client.environ_base["REMOTE_ADDR"] = address
    for url in metrics_urls(app):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "billing_admin_http_requests_total" in response.get_data(as_text=True)


def test_metrics_answer_the_configured_networks_only(app_factory):
    client = app_factory(METRICS_ALLOW="10.0.0.0/8, 192.0.2.7").test_client()
    for address, status in [
        ("10.1.2.3", 200),
        ("192.0.2.7", 200),
        ("192.0.2.8", 403),
        ("127.0.0.1", 403),
    ]:
        client.environ_base["REMOTE_ADDR"] = address
        assert client.get("/metrics").status_code == status, address


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (f"Bearer {METRICS_TOKEN}", 200),
        (f"bearer   {METRICS_TOKEN}", 200),
        (f"Bearer {METRICS_TOKEN}x", 403),
        ("Bearer " + METRICS_TOKEN[:-1], 403),
        (f"Basic {METRICS_TOKEN}", 403),
        ("Bearer", 403),
        (None, 403),
    ],
)
def test_the_metrics_token_opens_metrics_from_anywhere(app_factory, authorization, status):
    client = app_factory(METRICS_TOKEN=METRICS_TOKEN).test_client()
    client.environ_base["REMOTE_ADDR"] = OUTSIDE
    headers = {"Authorization": authorization} if authorization else {}
    assert client.get("/metrics", headers=headers).status_code == status


def test_no_token_is_accepted_when_none_is_configured(app, client):
    client.environ_base["REMOTE_ADDR"] = OUTSIDE
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_a_request_forwarded_by_an_untrusted_proxy_needs_the_token(app_factory):
    """A proxy on loopback with TRUSTED_PROXIES=0: the peer is the proxy, not the client."""
    client = app_factory(METRICS_TOKEN=METRICS_TOKEN).test_client()
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        assert client.get("/metrics", headers={header: "127.0.0.1"}).status_code == 403, header
    response = client.get(
        "/metrics", headers={"X-Forwarded-For": OUTSIDE, "Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 200


def test_behind_a_trusted_proxy_the_client_address_decides(app_factory):
    client = app_factory(TRUSTED_PROXIES=1).test_client()
    assert client.get("/metrics", headers={"X-Forwarded-For": OUTSIDE}).status_code == 403
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


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
def test_an_api_route_answers_405_to_a_method_it_does_not_have(admin_client, method):
    response = admin_client.open("/api/v1/whoami", method=method)
    assert response.status_code == 405
    assert response.get_json() == {"detail": "The method is not allowed for the requested URL."}
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
    "account.set_time_zone",  # their own time zone (issue 16)
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
        assert response.status_code == 403, (endpoint, method)
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
    response = client.put(
        "/api/v1/admin/billing/plans/pro", json={}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 403
    assert response.get_json() == {"detail": "Viewers may only read."}


def test_viewers_read_every_page_and_the_api(app, viewer_client):
    for endpoint, method, url in guarded_routes(app):
        if method != "GET" or route_access(endpoint) == ADMIN_ONLY:
            continue
        if endpoint in (
            "plans.detail",
            "plans.edit",
            "plans.delete",
            "plans.move_to_current_price",
            "subscribers.index",
            "subscribers.export_csv",
            "subscribers.export_xlsx",
            "all_subscribers.everyone_csv",  # streamed: read buffered, below
            "all_subscribers.everyone_xlsx",
            "audit.export_csv",
            "audit.export_xlsx",
            "api.get_plan",
            "api.plan_subscribers",
        ) or endpoint.startswith(("subscriptions.", "api_subscriptions.")):
            continue  # need a real plan or subscription: below
        response = viewer_client.get(url)
        assert response.status_code in (200, 302), (endpoint, response.status_code)
    from tests.helpers import add_plan, add_subscription

    add_plan("pro")
    subscription = add_subscription("pro", "paused", cancel_at_period_end=True)
    db.session.commit()
    sid, uid = subscription.id, subscription.user_id
    for url in (
        f"/admin/subscriptions/{sid}",
        f"/admin/users/{uid}",
        *(f"/admin/subscriptions/{sid}/{action}" for action in ("resume", "resume-renewal")),
        f"/admin/subscriptions/{sid}/change-plan",
        f"/admin/subscriptions/{sid}/extend",
        "/admin/plans/pro",
        "/admin/plans/pro/prices/move",
        "/admin/plans/pro/subscribers",
        "/admin/plans/pro/subscribers.csv",
        "/admin/subscribers?q=ann&plan=pro&sort=period_end",
        "/admin/subscribers.csv?q=ann&plan=pro",
        "/admin/plans/pro/subscribers.xlsx",
        "/admin/subscribers.xlsx?q=ann&plan=pro",
        "/api/v1/admin/billing/plans/pro/subscribers",
        f"/api/v1/admin/billing/subscriptions/{sid}",
        f"/api/v1/admin/billing/users/{uid}/subscription",
        "/api/v1/whoami",
        "/admin/audit",
        "/admin/audit/export.csv?kind=plans&from=2026-01-01",
        "/admin/audit/export.xlsx",
    ):
        assert viewer_client.get(url, buffered=True).status_code == 200, url
    assert viewer_client.get("/api/v1/whoami").get_json()["role"] == "user"


def test_a_viewer_sees_no_admin_navigation(viewer_client):
    page = viewer_client.get("/admin/").get_data(as_text=True)
    assert "/admin/accounts" not in page
    assert ">viewer<" in page
