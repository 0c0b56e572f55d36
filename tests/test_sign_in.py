"""Sign-in and sign-out: who gets in, sessions, lockout, logging, and where sign-in leads."""

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import User
from tests.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, add_user

START = 1_800_000_000


def test_the_sign_in_page_has_a_labelled_form(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page
    assert 'name="csrf_token"' in page


def test_an_admin_signs_in_and_lands_on_the_dashboard(client, admin, auth):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [
        (ADMIN_EMAIL, "wrong password!"),
        ("nobody@example.com", ADMIN_PASSWORD),
        ("user@example.com", ADMIN_PASSWORD),  # right password, but not an admin
    ],
)
def test_every_failed_sign_in_gets_the_same_message(client, admin, auth, email, password):
    add_user("user@example.com", ADMIN_PASSWORD, role="user")
    response = auth.login(email, password)
    assert response.status_code == 200
    assert "Invalid email or password" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # still signed out


def test_the_email_is_matched_without_regard_to_case_or_spaces(client, admin, auth):
    assert auth.login("  Admin@Example.COM ").status_code == 302


def test_the_session_is_renewed_at_sign_in(client, admin, auth):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login()
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(admin.id + ":")


def test_a_session_ends_8_hours_after_sign_in_even_when_used(client, admin, auth, set_clock):
    set_clock(START)
    auth.login()
    for minute in range(25, 8 * 60, 25):  # active every 25 minutes: never idle for 30
        set_clock(START + minute * 60)
        assert client.get("/admin/").status_code == 200, minute
    set_clock(START + 8 * 3600 - 1)
    assert client.get("/admin/").status_code == 200
    set_clock(START + 8 * 3600 + 1)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_session_cookie_is_permanent_with_an_8_hour_lifetime(app, client, admin, auth):
    auth.login()
    cookie = client.get_cookie("session")
    assert cookie.expires is not None
    assert app.permanent_session_lifetime.total_seconds() == 8 * 3600


def test_sign_out_ends_the_session_and_old_copies_of_the_cookie(client, admin, auth):
    auth.login()
    stolen = client.get_cookie("session").value
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/admin/").status_code == 302
    client.set_cookie("session", stolen)  # replaying the cookie from before sign-out
    assert client.get("/admin/").status_code == 302


def test_passwords_are_stored_as_argon2id_hashes(admin):
    assert admin.password_hash.startswith("$argon2id$")
    assert ADMIN_PASSWORD not in admin.password_hash


def test_the_default_hash_cost_meets_owasp(empty_app):
    from argon2 import profiles

    profile = getattr(profiles, empty_app.config["PASSWORD_HASH_PROFILE"])
    default = profiles.RFC_9106_LOW_MEMORY
    assert empty_app.config["PASSWORD_HASH_PROFILE"] == "CHEAPEST"  # tests only
    assert profile.memory_cost < default.memory_cost
    # OWASP: Argon2id with at least 19 MiB, 2 iterations, 1 degree of parallelism.
    assert default.memory_cost >= 19 * 1024 and default.time_cost >= 2


def test_sign_ins_are_logged_without_the_password(client, admin, auth, caplog):
    caplog.set_level("INFO", logger="billing_admin")
    auth.login(password="wrong password!")
    auth.login()
    assert f"sign-in failed for '{ADMIN_EMAIL}' from 127.0.0.1" in caplog.text
    assert f"sign-in succeeded for '{ADMIN_EMAIL}' from 127.0.0.1" in caplog.text
    assert "wrong password!" not in caplog.text
    assert ADMIN_PASSWORD not in caplog.text


REDIRECT_PAYLOADS = [
    "//evil.example",
    "https://evil.example",
    "https:evil.example",
    "http://evil.example/admin/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    "%2F%2Fevil.example",
    "///evil.example",
    " //evil.example",
    "evil.example",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.mark.parametrize("payload", REDIRECT_PAYLOADS)
def test_next_off_this_site_lands_on_the_dashboard(client, admin, auth, payload):
    from urllib.parse import quote

    response = auth.login(next=quote(payload, safe=""))
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_next_on_this_site_is_honoured(client, admin, auth):
    response = auth.login(next="/admin/%3Fstatus%3Dactive")
    assert response.headers["Location"] == "/admin/?status=active"


def test_an_anonymous_visit_is_sent_to_sign_in_and_back(client, admin, auth):
    response = client.get("/admin/?a=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/?a%3D1"
    assert auth.login(next="/admin/%3Fa%3D1").headers["Location"] == "/admin/?a=1"


def test_a_user_demoted_while_signed_in_gets_403(client, admin, auth):
    auth.login()
    db.session.execute(sa.update(User).where(User.id == admin.id).values(role="user"))
    db.session.commit()
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "403 Forbidden" in response.get_data(as_text=True)


def test_a_forged_log_line_in_the_email_stays_on_one_line(client, admin, auth, caplog):
    caplog.set_level("INFO", logger="billing_admin")
    auth.login("x@y.z\n2026-01-01 sign-in succeeded for admin@example.com", "wrong password!")
    [record] = [r for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert "\n" not in record.getMessage()


def test_an_email_that_grows_when_lower_cased_is_refused_cleanly(client, admin, auth):
    response = auth.login("İ" * 200 + "@example.com", "wrong password!")
    assert response.status_code == 200
    assert "Invalid email or password" in response.get_data(as_text=True)
