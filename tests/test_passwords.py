"""Finding 7: passwords are checked for strength, the same way everywhere one is set.

Before issue 15 only the length was checked: `aaaaaaaaaaaa` and `123456789012` were accepted,
and twelve spaces were accepted and could then never be typed to sign in (the form strips
nothing, but browsers and people do)."""

import pytest

from billing_admin.auth.passwords import password_problem
from tests.helpers import ADMIN_PASSWORD, csrf_token_from

WEAK = [
    ("aaaaaaaaaaaa", "too easy to guess"),
    ("123456789012", "too easy to guess"),
    ("password1234", "too easy to guess"),
    ("qwertyuiop12", "too easy to guess"),
    ("            ", "must not be only spaces"),
    ("\t\t\t\t\t\t\t\t\t\t\t\t", "must not be only spaces"),
    ("ops@example.com1", "built on your email"),
    ("billingadmin2026", "built on your email"),
    ("short", "at least 12 characters"),
]


@pytest.mark.parametrize(("password", "says"), WEAK)
def test_weak_passwords_are_refused(app, password, says):
    with app.test_request_context():
        problem = password_problem(password, email="ops@example.com", name="Ops Team")
    assert problem is not None and says in problem, problem


@pytest.mark.parametrize("password", [ADMIN_PASSWORD, "a long enough password", "Tr0ub4dor&3xyz!"])
def test_strong_passwords_are_accepted(app, password):
    with app.test_request_context():
        assert password_problem(password, email="ops@example.com", name="Ops") is None


def test_a_1024_character_password_is_judged_by_its_first_72_characters(app, monkeypatch):
    seen = []
    monkeypatch.setattr(
        "billing_admin.auth.passwords.zxcvbn",
        lambda password, **kw: seen.append(password) or {"score": 4, "sequence": []},
    )
    with app.test_request_context():
        assert password_problem("x7Q!" * 256) is None
    assert [len(p) for p in seen] == [72]


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "123456789012", "            "])
def test_the_command_line_refuses_them(runner, password):
    result = runner.invoke(
        args=["create-admin", "--email", "ops@example.com", "--password-stdin"], input=password
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: Password ")


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "123456789012", "            "])
def test_the_account_page_refuses_them(admin_client, password):
    token = csrf_token_from(admin_client.get("/account").get_data(as_text=True))
    response = admin_client.post(
        "/account/password",
        data={
            "current": ADMIN_PASSWORD,
            "password": password,
            "confirm": password,
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert 'id="password-errors"' in response.get_data(as_text=True)
    from tests.helpers import AuthActions

    AuthActions(admin_client).logout()
    assert AuthActions(admin_client).login().status_code == 302  # the old password still works


def test_set_password_links_refuse_them(admin_client):
    from tests.test_accounts import add_account_through_the_page

    link = add_account_through_the_page(admin_client, "new@example.com", "viewer")
    page = admin_client.get(link).get_data(as_text=True)
    response = admin_client.post(
        link,
        data={
            "password": "123456789012",
            "confirm": "123456789012",
            "csrf_token": csrf_token_from(page),
        },
    )
    assert response.status_code == 200
    assert "too easy to guess" in response.get_data(as_text=True)
