"""The second factor: TOTP after the password, codes not reusable within their window,
recovery codes used once, the same throttling as passwords, enrolment with a server-drawn QR
code, REQUIRE_SECOND_FACTOR, and an admin's reset."""

import re

import pyotp
import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import AdminAccount, AuditLog, RecoveryCode
from tests.conftest import IsolatedClient
from tests.helpers import TOTP_SECRET, AuthActions, bearer, csrf_token_from, make_token, totp_code

START = 1_800_000_000


def test_a_code_is_asked_after_the_password(client, totp_admin, auth, set_clock):
    set_clock(START)
    response = auth.login()
    assert response.headers["Location"] == "/login/code"
    assert client.get("/admin/").status_code == 302  # the password alone is not enough
    response = auth.code(totp_code(START))
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_code_cannot_be_used_twice_within_its_window(app, client, totp_admin, auth, set_clock):
    set_clock(START)
    auth.login()
    auth.code(totp_code(START))
    auth.logout()
    set_clock(START + 10)  # the same 30-second step
    auth.login()
    response = auth.code(totp_code(START))
    assert response.status_code == 200
    assert "That code is not right, or it has been used already." in response.get_data(as_text=True)
    set_clock(START + 30)
    assert auth.code(totp_code(START + 30)).status_code == 302
    db.session.rollback()
    assert db.session.get(AdminAccount, totp_admin.id).totp_last_step == (START + 30) // 30


def test_a_code_one_step_old_is_accepted_for_clock_drift_but_not_two(
    client, totp_admin, auth, set_clock
):
    set_clock(START)
    auth.login()
    assert auth.code(totp_code(START - 60)).status_code == 200
    assert auth.code(totp_code(START - 30)).status_code == 302


def test_a_recovery_code_works_once_and_is_in_the_audit_log(client, totp_admin, auth):
    code = totp_admin.recovery_codes[3]
    auth.login()
    assert auth.code(code.lower()).status_code == 302
    auth.logout()
    auth.login()
    assert auth.code(code).status_code == 200
    db.session.rollback()
    entry = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "recovery_code_used")
    ).one()
    assert entry.audit_metadata["left"] == 9
    assert code not in str(entry.audit_metadata)


def test_recovery_codes_are_stored_hashed_with_80_bits_each(totp_admin):
    hashes = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10
    assert all(len(h) == 64 for h in hashes)
    for code in totp_admin.recovery_codes:
        assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", code)  # 16 base32 characters
        assert code not in hashes


def test_wrong_codes_are_throttled_like_passwords(app, client, totp_admin, auth, set_clock):
    app.config["SIGN_IN_CLIENT_LIMIT"] = "100000 per minute"
    set_clock(START)
    auth.login()
    for _ in range(5):
        auth.code("000000")
    response = auth.code(totp_code(START))
    assert "Too many failed sign-in attempts for this account. Try again in 1 second." in (
        response.get_data(as_text=True)
    )


def test_the_code_page_needs_a_pending_sign_in(client, totp_admin):
    response = client.get("/login/code")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_a_pending_sign_in_lasts_10_minutes(client, totp_admin, auth, set_clock):
    set_clock(START)
    auth.login()
    set_clock(START + 10 * 60 + 1)
    assert client.get("/login/code").headers["Location"] == "/login"


def enrol_page(client, path="/account/second-factor"):
    page = client.get(path).get_data(as_text=True)
    secret = re.search(r'class="secret-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    return page, secret


def test_enrolment_shows_an_svg_qr_code_and_needs_a_first_code(admin_client, admin, set_clock):
    page, secret = enrol_page(admin_client)
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert "style=" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]  # CSP: no inline style
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # CSP: no inline script
    assert len(secret) == 32
    wrong = admin_client.post(
        "/account/second-factor", data={"code": "123456", "csrf_token": csrf_token_from(page)}
    )
    assert "That code is not right." in wrong.get_data(as_text=True)
    page, secret = enrol_page(admin_client)
    response = admin_client.post(
        "/account/second-factor",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token_from(page)},
    )
    codes = re.findall(
        r"<code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</code>", response.get_data(as_text=True)
    )
    assert len(codes) == 10
    db.session.rollback()
    assert db.session.get(AdminAccount, admin.id).totp_secret == secret
    assert "Your second factor is on." in response.get_data(as_text=True)


def test_required_second_factor_makes_an_account_enrol_at_sign_in(app, admin, set_clock):
    app.config["REQUIRE_SECOND_FACTOR"] = True
    app.test_client_class = IsolatedClient
    browser = app.test_client()
    auth = AuthActions(browser)
    response = auth.login()
    assert response.headers["Location"] == "/login/second-factor"
    assert browser.get("/admin/").status_code == 302
    page, secret = enrol_page(browser, "/login/second-factor")
    assert "This site asks every account for a second factor." in page
    response = browser.post(
        "/login/second-factor",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token_from(page)},
    )
    assert "Your second factor is on." in response.get_data(as_text=True)
    assert browser.get("/admin/").status_code == 200


def test_required_second_factor_is_on_in_production_only(app, app_factory):
    assert app.config["REQUIRE_SECOND_FACTOR"] is False
    prod = app_factory(TESTING=False, TRUSTED_HOSTS=["localhost"])
    assert prod.config["REQUIRE_SECOND_FACTOR"] is True


def test_an_admin_resets_another_accounts_second_factor(app, admin_client, totp_admin, viewer):
    from billing_admin.auth import second_factor

    account = db.session.get(AdminAccount, viewer.id)
    account.totp_secret = TOTP_SECRET
    db.session.commit()
    token = csrf_token_from(admin_client.get("/admin/accounts").get_data(as_text=True))
    admin_client.post(
        f"/admin/accounts/{viewer.id}/reset-second-factor", data={"csrf_token": token}
    )
    db.session.rollback()
    assert db.session.get(AdminAccount, viewer.id).totp_secret is None
    assert second_factor.recovery_codes_left(viewer.id) == 0


def test_turning_off_your_own_second_factor_needs_the_password(client, totp_admin, auth, set_clock):
    set_clock(START)
    auth.login()
    auth.code(totp_code(START))
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    wrong = client.post(
        "/account/second-factor/off",
        data={"password": "nope", "csrf_token": token},
        follow_redirects=True,
    )
    assert "The current password is not right." in wrong.get_data(as_text=True)
    from tests.helpers import ADMIN_PASSWORD

    client.post(
        "/account/second-factor/off", data={"password": ADMIN_PASSWORD, "csrf_token": token}
    )
    db.session.rollback()
    assert db.session.get(AdminAccount, totp_admin.id).totp_secret is None


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "1" * 65])
def test_nonsense_codes_are_refused_cleanly(client, totp_admin, auth, code):
    auth.login()
    response = auth.code(code)
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_api_tokens_are_unaffected_by_the_second_factor(app, runner, totp_admin, client):
    app.config["REQUIRE_SECOND_FACTOR"] = True
    token = make_token(runner, "n", admin=totp_admin.email)
    assert client.get("/api/v1/whoami", headers=bearer(token)).status_code == 200
