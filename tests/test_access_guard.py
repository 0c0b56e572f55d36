"""Every route but sign-in, static files and /healthz refuses anonymous users and non-admins.

The routes come from the app's URL map, so a route added later is checked without anyone
having to remember to add it here.
"""

import re

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


def test_only_sign_in_static_and_healthz_are_public():
    assert frozenset({"auth.login", "static", "health.healthz"}) == PUBLIC_ENDPOINTS
    assert frozenset({"auth.logout"}) == SIGNED_IN_ENDPOINTS  # any signed-in user may sign out


def test_there_are_guarded_routes_to_check(app):
    endpoints = {endpoint for endpoint, _, _ in guarded_routes(app)}
    assert {"dashboard.home", "auth.logout", "api.whoami"} <= endpoints
    # Issue 12's routes: the move preview (GET and POST) and continuing a stopped move.
    assert {"plans.move_to_current_price", "plans.continue_move"} <= endpoints


def test_the_price_move_routes_are_walked_with_every_method(app):
    walked = {(endpoint, method, url) for endpoint, method, url in guarded_routes(app)}
    assert {
        ("plans.move_to_current_price", "GET", "/admin/plans/x/prices/move"),
        ("plans.move_to_current_price", "POST", "/admin/plans/x/prices/move"),
        ("plans.continue_move", "POST", "/admin/plans/x/prices/moves/1/continue"),
    } <= walked


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
