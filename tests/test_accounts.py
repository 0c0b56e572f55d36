"""/admin/accounts, the set-password links, the first sign-in of `flask bootstrap-admin`'s
account, and `flask create-admin --role` / `flask list-accounts`."""

import re

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import AdminAccount, AuditLog, User
from tests.conftest import IsolatedClient
from tests.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, AuthActions, add_user, csrf_token_from

NEW_PASSWORD = "amber kettle orbit"
START = 1_800_000_000


def post(client, path, data=None, page="/admin/accounts", **kwargs):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def add_account_through_the_page(client, email: str, role: str) -> str:
    """Adds an account on /admin/accounts; returns the path of its set-password link."""
    response = post(client, "/admin/accounts", {"email": email, "name": "", "role": role})
    assert response.status_code == 200, response.get_data(as_text=True)
    link = re.search(
        r'class="password-link">http://localhost(/set-password/[^<]+)<',
        response.get_data(as_text=True),
    )
    assert link, response.get_data(as_text=True)
    return link.group(1)


def account_of(email: str) -> tuple[User, AdminAccount | None]:
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    return user, user.account


def fresh_client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


def test_the_list_shows_role_last_sign_in_second_factor_and_status(admin_client, viewer):
    page = admin_client.get("/admin/accounts").get_data(as_text=True)
    assert ADMIN_EMAIL in page and viewer.email in page
    assert "awaiting password" not in page
    assert "never" in page  # the viewer has not signed in
    assert page.count(">off<") == 2  # no second factor yet


def test_viewers_cannot_see_or_use_the_accounts_page(viewer_client):
    assert viewer_client.get("/admin/accounts").status_code == 403


def test_adding_an_account_shows_a_one_time_link_that_sets_the_password(app, admin_client):
    link = add_account_through_the_page(admin_client, "New.Person@Example.com", "viewer")
    user, account = account_of("new.person@example.com")
    assert (user.role, account.role, user.password_hash) == ("user", "viewer", None)
    assert "awaiting password" in admin_client.get("/admin/accounts").get_data(as_text=True)
    newcomer = fresh_client(app)
    page = newcomer.get(link).get_data(as_text=True)
    assert "new.person@example.com" in page
    response = newcomer.post(
        link,
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token_from(page),
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert newcomer.get(link).status_code == 404  # used up
    assert AuthActions(newcomer).login("new.person@example.com", NEW_PASSWORD).status_code == 302
    assert newcomer.get("/admin/plans").status_code == 200


def test_a_link_expires_after_24_hours(app, client, admin, auth, set_clock):
    set_clock(START)
    auth.login()
    link = add_account_through_the_page(client, "late@example.com", "admin")
    set_clock(START + 24 * 3600 + 1)
    response = fresh_client(app).get(link)
    assert response.status_code == 404
    assert "This link is not valid: it has been used or has expired." in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"email": "not an email", "role": "viewer"}, "Enter a valid email address."),
        ({"email": ADMIN_EMAIL, "role": "viewer"}, "admin@example.com already has an account."),
        ({"email": "x@example.com", "role": "owner"}, "Not a valid choice."),
    ],
)
def test_bad_new_accounts_are_refused_by_the_field(admin_client, form, message):
    response = post(admin_client, "/admin/accounts", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'value="{form["email"]}"' in page  # what was typed is kept


def test_change_role_disable_enable_sign_out_everywhere(app, admin_client, viewer):
    viewers_browser = fresh_client(app)
    AuthActions(viewers_browser).login(viewer.email, "quiet violet lantern")
    assert (
        post(admin_client, f"/admin/accounts/{viewer.id}/role", {"role": "admin"}).status_code
        == 303
    )
    user, account = account_of(viewer.email)
    assert (user.role, account.role) == ("admin", "admin")
    post(admin_client, f"/admin/accounts/{viewer.id}/disable")
    assert viewers_browser.get("/admin/").status_code == 302  # signed out at once
    assert (
        AuthActions(viewers_browser).login(viewer.email, "quiet violet lantern").status_code == 200
    )
    post(admin_client, f"/admin/accounts/{viewer.id}/enable")
    assert (
        AuthActions(viewers_browser).login(viewer.email, "quiet violet lantern").status_code == 302
    )
    post(admin_client, f"/admin/accounts/{viewer.id}/sign-out")
    assert viewers_browser.get("/admin/").status_code == 302
    db.session.rollback()
    actions = db.session.scalars(
        sa.select(AuditLog.action).where(
            AuditLog.entity_id == viewer.id, AuditLog.actor == ADMIN_EMAIL
        )
    ).all()
    assert actions == ["account_changed", "account_disabled", "account_enabled", "sessions_ended"]


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("role", {"role": "viewer"}, "You cannot change your own role."),
        ("disable", {}, "You cannot disable your own account."),
    ],
)
def test_an_admin_cannot_demote_or_disable_themselves(admin_client, admin, action, data, message):
    response = post(
        admin_client, f"/admin/accounts/{admin.id}/{action}", data, follow_redirects=True
    )
    assert message in response.get_data(as_text=True)
    assert account_of(ADMIN_EMAIL)[0].is_admin


def test_the_last_admin_cannot_be_demoted_or_disabled(app, admin_client, admin):
    other = add_user("second@example.com", ADMIN_PASSWORD, role="admin")
    post(admin_client, f"/admin/accounts/{other.id}/disable")
    # Now `admin` is the last enabled admin; the command line cannot demote them either.
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", ADMIN_EMAIL, "--role", "viewer", "--password-stdin"],
        input=NEW_PASSWORD,
    )
    assert (result.exit_code, result.output) == (
        1,
        "Error: this is the last admin: make another admin first\n",
    )


def test_a_new_password_link_for_an_existing_account(app, admin_client, viewer):
    response = post(admin_client, f"/admin/accounts/{viewer.id}/password-link")
    link = re.search(
        r"http://localhost(/set-password/[^<]+)<", response.get_data(as_text=True)
    ).group(1)
    assert fresh_client(app).get(link).status_code == 200


def test_the_bootstrap_admin_sets_its_own_password_at_first_sign_in(app, runner):
    output = runner.invoke(args=["bootstrap-admin"]).output
    password = output.split("password: ")[1].split()[0]
    browser = fresh_client(app)
    response = AuthActions(browser).login(ADMIN_EMAIL, password)
    assert response.headers["Location"] == "/login/new-password"
    assert browser.get("/admin/").status_code == 302  # not in yet
    page = browser.get("/login/new-password").get_data(as_text=True)
    weak = browser.post(
        "/login/new-password",
        data={
            "password": "aaaaaaaaaaaa",
            "confirm": "aaaaaaaaaaaa",
            "csrf_token": csrf_token_from(page),
        },
    )
    assert "too easy to guess" in weak.get_data(as_text=True)
    response = browser.post(
        "/login/new-password",
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token_from(page),
        },
    )
    assert response.headers["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200
    assert not account_of(ADMIN_EMAIL)[1].must_change_password
    AuthActions(browser).logout()
    assert AuthActions(browser).login(ADMIN_EMAIL, password).status_code == 200  # the old one
    assert AuthActions(browser).login(ADMIN_EMAIL, NEW_PASSWORD).status_code == 302


def test_create_admin_with_a_role_and_list_accounts(runner, set_clock):
    set_clock(START)
    result = runner.invoke(
        args=[
            "create-admin",
            "--email",
            "reader@example.com",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        input=NEW_PASSWORD,
    )
    assert (result.exit_code, result.output) == (0, "created viewer reader@example.com\n")
    runner.invoke(
        args=["create-admin", "--email", "ops@example.com", "--password-stdin"], input=NEW_PASSWORD
    )
    lines = runner.invoke(args=["list-accounts"]).output.splitlines()
    assert lines[0].split() == ["EMAIL", "ROLE", "STATUS", "SECOND", "FACTOR", "LAST", "SIGN-IN"]
    assert lines[1].split() == ["ops@example.com", "admin", "active", "off", "never"]
    assert lines[2].split() == ["reader@example.com", "viewer", "active", "off", "never"]
    user, account = account_of("reader@example.com")
    assert (user.role, account.role) == ("user", "viewer")


def test_create_admin_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["create-admin", "--email", "x@example.com", "--role", "owner"])
    assert result.exit_code == 2


def test_list_accounts_on_an_empty_database(runner):
    assert runner.invoke(args=["list-accounts"]).output == "no accounts\n"
