"""CSRF, security headers, cookies, error pages and production settings.

CSRF protection is on in every test of this suite (as in production); these tests check it
refuses and accepts.
"""

import logging

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import InternalServerError

from billing_admin.extensions import db
from billing_admin.models import SignInFailure
from billing_admin.security.headers import CONTENT_SECURITY_POLICY
from tests.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, make_app

CSRF_MESSAGE = (
    "This form has expired or was not sent from this site. Reload the page and try again."
)


def test_csrf_protection_is_on(app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_a_sign_in_without_a_valid_csrf_token_is_refused_and_changes_nothing(client, admin, token):
    client.get("/login")
    data = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # not signed in
    assert db.session.scalar(sa.select(sa.func.count(SignInFailure.id))) == 0


def test_sign_out_without_a_csrf_token_is_refused(admin_client):
    response = admin_client.post("/logout")
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert admin_client.get("/admin/").status_code == 200  # still signed in


def test_a_csrf_token_from_another_session_is_refused(app, admin_client, auth):
    other = app.test_client()
    foreign_token = type(auth)(other).csrf_token()
    assert admin_client.post("/logout", data={"csrf_token": foreign_token}).status_code == 400


def test_a_valid_csrf_token_is_accepted(admin_client, auth):
    assert auth.logout().status_code == 302


def test_sign_out_is_post_only(admin_client):
    response = admin_client.get("/logout")
    assert response.status_code == 405
    assert admin_client.get("/admin/").status_code == 200


def assert_security_headers(response, cacheable=False):
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    for directive in (
        "default-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ):
        assert directive in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    if not cacheable:
        assert headers["Cache-Control"] == "no-store"


def test_headers_on_a_page(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_headers_on_a_json_answer(admin_client):
    assert_security_headers(admin_client.get("/api/v1/whoami"))
    assert_security_headers(admin_client.get("/healthz"))


def test_headers_on_a_redirect(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert_security_headers(response)


def test_headers_on_errors(client, admin_client):
    assert_security_headers(admin_client.get("/no-such-page"))
    assert_security_headers(client.get("/api/v1/whoami"))


def test_headers_on_static_files_which_may_be_cached(client):
    response = client.get("/static/.gitkeep")
    response.close()
    assert response.status_code == 200
    assert_security_headers(response, cacheable=True)
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_no_hsts_and_no_secure_cookie_outside_production(admin_client):
    assert "Strict-Transport-Security" not in admin_client.get("/admin/").headers


def test_session_cookie_is_httponly_and_samesite_lax(client, admin, auth):
    cookie = auth.login().headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # tests run over http://


def test_production_sends_hsts_and_secure_cookies(app, app_factory):
    prod = app_factory(TESTING=False, TRUSTED_HOSTS=["localhost"])
    client = prod.test_client()
    response = client.get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert "Secure" in response.headers["Set-Cookie"]


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(
    app, app_factory, admin, caplog
):
    caplog.set_level(logging.INFO, logger="billing_admin")
    proxied = app_factory(TRUSTED_PROXIES=1, WTF_CSRF_ENABLED=False)
    proxied.test_client().post(
        "/login",
        data={"email": ADMIN_EMAIL, "password": "wrong password!"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert f"sign-in failed for '{ADMIN_EMAIL}' from 203.0.113.9" in caplog.text


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, admin, auth, caplog):
    caplog.set_level(logging.INFO, logger="billing_admin")
    client.get("/login")
    client.post(
        "/login",
        data={"email": ADMIN_EMAIL, "password": "wrong password!", "csrf_token": auth.csrf_token()},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert "from 127.0.0.1" in caplog.text
    assert "203.0.113.9" not in caplog.text


def test_a_bad_trusted_proxies_setting_stops_start_up(monkeypatch, database_url):
    from billing_admin.config import ConfigError

    monkeypatch.setenv("TRUSTED_PROXIES", "yes")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES must be a whole number"):
        make_app(database_url)


@pytest.fixture
def app_with_a_failing_page(app_factory):
    app = app_factory()

    @app.get("/admin/explode")
    def explode():
        db.session.execute(sa.text("SELECT 1"))
        raise RuntimeError("secret internals")

    @app.get("/api/v1/explode")
    def explode_api():
        raise RuntimeError("secret internals")

    return app


@pytest.mark.parametrize("path", ["/admin/explode", "/api/v1/explode"])
def test_a_500_shows_no_traceback_and_is_logged(app, app_with_a_failing_page, path, caplog, admin):
    from tests.helpers import AuthActions

    client = app_with_a_failing_page.test_client()
    AuthActions(client).login()
    response = client.get(path)
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret internals" not in body
    assert "Traceback" not in body
    assert "RuntimeError: secret internals" in caplog.text
    if path.startswith("/api/"):
        assert response.get_json() == {"detail": InternalServerError.description}
    else:
        assert "500 Internal Server Error" in body
    assert_security_headers(response)


@pytest.mark.parametrize(
    ("path", "method", "code"),
    [("/no-such-page", "GET", 404), ("/logout", "GET", 405), ("/api/v1/nothing", "GET", 404)],
)
def test_error_pages_are_rendered_for_browsers_and_json_under_api(admin_client, path, method, code):
    response = admin_client.open(path, method=method)
    assert response.status_code == code
    if path.startswith("/api/"):
        assert set(response.get_json()) == {"detail"}
    else:
        assert f"<h1>{code} " in response.get_data(as_text=True)
        assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/admin/audit?plan=a%00b", None),
        ("GET", "/admin/plans?status=%00", None),
        ("POST", "/login", {"email": "admin\x00@example.com", "password": "x"}),
        ("GET", "/api/v1/whoami?x=%00", None),
    ],
)
def test_nul_characters_are_refused_with_400_not_500(admin_client, method, path, data):
    response = admin_client.open(path, method=method, data=data)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Text must not contain NUL characters." in body


# -- Finding 4: the Host header ----------------------------------------------------------------


def test_an_untrusted_host_header_is_refused_not_reflected(admin_client):
    """Before issue 15, `GET /admin` answered 308 to http://evil.example/admin/."""
    response = admin_client.get("/admin", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("Location", "")
    assert "evil.example" not in response.get_data(as_text=True)
    assert admin_client.get("/admin").headers["Location"] == "http://localhost/admin/"


def test_trusted_hosts_are_required_in_production_and_read_from_the_environment(
    monkeypatch, database_url, app_factory
):
    from billing_admin.config import ConfigError

    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS is not set"):
        make_app(database_url, TESTING=False)
    monkeypatch.setenv("TRUSTED_HOSTS", "admin.example.com, .billing.example.com")
    app = app_factory(TESTING=False)  # its connections are closed after the test
    assert app.config["TRUSTED_HOSTS"] == ["admin.example.com", ".billing.example.com"]
    client = app.test_client()
    assert client.get("/healthz", headers={"Host": "admin.example.com"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "x.billing.example.com"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "localhost"}).status_code == 400


def test_the_proxy_may_set_host_and_prefix_only_when_configured(app, app_factory, admin):
    forwarded = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "/evil"}
    plain = app_factory(TRUSTED_PROXIES=1)
    response = plain.test_client().get("/admin", headers=forwarded)
    assert response.headers["Location"] == "http://localhost/admin/"
    trusting = app_factory(
        TRUSTED_PROXIES=1,
        TRUSTED_PROXY_HOST=True,
        TRUSTED_PROXY_PREFIX=True,
        TRUSTED_HOSTS=["admin.example.com"],
    )
    headers = {"X-Forwarded-Host": "admin.example.com", "X-Forwarded-Prefix": "/billing"}
    response = trusting.test_client().get("/admin", headers=headers)
    assert response.headers["Location"] == "http://admin.example.com/billing/admin/"
    # A forwarded host is still checked against TRUSTED_HOSTS.
    assert trusting.test_client().get("/admin", headers=forwarded).status_code == 400


# -- Finding 5: the body limit, and no body read before the guard --------------------------------


class CountingInput:
    """A request body that records how much of it the app read."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def read(self, n=-1):
        n = self.size - self.read_bytes if n is None or n < 0 else n
        n = min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b"a" * n

    def readline(self, limit=-1):
        return self.read(limit if limit and limit > 0 else 65536)


def multipart_environ(path: str, size: int, body: CountingInput) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": "multipart/form-data; boundary=x",
        "CONTENT_LENGTH": str(size),
        "wsgi.input": body,
    }


def test_an_anonymous_upload_is_refused_before_its_body_is_read(app, client):
    size = 200 * 1024 * 1024
    body = CountingInput(size)
    response = client.open(environ_overrides=multipart_environ("/admin/plans/new", size, body))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert body.read_bytes == 0


def test_bodies_over_1_mib_are_refused_with_413(app, client):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    size = 2 * 1024 * 1024
    body = CountingInput(size)
    response = client.open(environ_overrides=multipart_environ("/login", size, body))
    assert response.status_code == 413
    assert body.read_bytes == 0


# -- Finding 6: the cookie name ----------------------------------------------------------------


def test_production_session_cookie_is_host_prefixed(app, app_factory, admin):
    prod = app_factory(TESTING=False, TRUSTED_HOSTS=["localhost"])
    assert prod.config["SESSION_COOKIE_NAME"] == "__Host-session"
    client = prod.test_client()
    cookie = client.get("/login").headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert app.config["SESSION_COOKIE_NAME"] == "session"  # tests and development: plain http
