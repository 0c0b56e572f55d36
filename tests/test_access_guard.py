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
    assert PUBLIC_ENDPOINTS == frozenset(
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
