"""`flask create-admin` and `flask bootstrap-admin`."""

import pytest
import sqlalchemy as sa

from billing_admin.auth.passwords import verify_password
from billing_admin.extensions import db
from billing_admin.models import User
from tests.helpers import add_user

PASSWORD = "a long enough password"


def users() -> list[User]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(User).order_by(User.email)))


def test_create_admin_reads_the_password_from_stdin(runner):
    result = runner.invoke(
        args=["create-admin", "--email", "Ops@Example.com", "--name", "Ops", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert (result.exit_code, result.output) == (0, "created admin ops@example.com\n")
    [user] = users()
    assert (user.email, user.name, user.role) == ("ops@example.com", "Ops", "admin")
    assert verify_password(user.password_hash, PASSWORD)


@pytest.fixture
def terminal(monkeypatch):
    """CliRunner's stdin is a pipe; these tests play a person at a terminal."""
    monkeypatch.setattr("billing_admin.auth.commands.stdin_is_terminal", lambda: True)


def test_create_admin_asks_twice_without_echo(runner, terminal):
    result = runner.invoke(
        args=["create-admin", "--email", "ops@example.com"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert "Repeat for confirmation" in result.output


def test_create_admin_refuses_passwords_that_differ(runner, terminal):
    result = runner.invoke(
        args=["create-admin", "--email", "ops@example.com"],
        input=f"{PASSWORD}\nsomething else entirely\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert "Error: The two entered values do not match." in result.output
    assert result.exit_code == 0  # asked again, then matched


def test_create_admin_promotes_an_existing_user(runner):
    add_user("someone@example.com", role="user")
    result = runner.invoke(
        args=["create-admin", "--email", "someone@example.com", "--password-stdin"], input=PASSWORD
    )
    assert (result.exit_code, result.output) == (0, "promoted admin someone@example.com\n")
    [user] = users()
    assert user.role == "admin"


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, "Error: invalid email: "),
        ("a@b", PASSWORD, "Error: invalid email: "),
        ("ops@example.com", "short", "Error: Password must be at least 12 characters.\n"),
        ("ops@example.com", "", "Error: Password must not be only spaces.\n"),
    ],
)
def test_create_admin_errors_are_one_line_and_write_nothing(runner, email, password, message):
    result = runner.invoke(
        args=["create-admin", "--email", email, "--password-stdin"], input=password
    )
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert len(result.output.splitlines()) == 1
    assert users() == []


def test_create_admin_without_email_is_a_usage_error(runner):
    assert runner.invoke(args=["create-admin"]).exit_code == 2


def test_bootstrap_admin_creates_one_admin_on_an_empty_database_and_prints_it_once(runner):
    first = runner.invoke(args=["bootstrap-admin"])
    assert first.exit_code == 0
    password = first.output.split("password: ")[1].split()[0]
    assert len(password) >= 12
    [user] = users()
    assert (user.email, user.role) == ("admin@example.com", "admin")
    assert verify_password(user.password_hash, password)

    second = runner.invoke(args=["bootstrap-admin"])
    assert (second.exit_code, second.output) == (0, "")
    assert len(users()) == 1


def test_bootstrap_admin_does_nothing_when_an_admin_exists(runner, admin):
    assert runner.invoke(args=["bootstrap-admin"]).output == ""
    assert len(users()) == 1


def test_create_admin_refuses_a_name_too_long(runner):
    result = runner.invoke(
        args=[
            "create-admin",
            "--email",
            "ops@example.com",
            "--name",
            "n" * 300,
            "--password-stdin",
        ],
        input=PASSWORD,
    )
    assert (result.exit_code, result.output) == (1, "Error: the name must be 1 to 255 characters\n")
    assert users() == []


def test_create_admin_says_updated_for_an_admin_given_a_new_password(runner, admin):
    result = runner.invoke(
        args=["create-admin", "--email", admin.email, "--password-stdin"], input=PASSWORD
    )
    assert result.output == f"updated admin {admin.email}\n"


@pytest.mark.parametrize(
    "args",
    [
        ["create-admin", "--email", "ops@example.com", "--password-stdin"],
        ["create-api-token", "--name", "x", "--admin", "ops@example.com"],
        ["list-api-tokens"],
        ["revoke-api-token", "x"],
        ["bootstrap-admin"],
        ["seed-demo", "--subscriptions", "5"],
    ],
)
def test_commands_on_a_database_without_the_schema_fail_in_one_line(empty_app, args):
    result = empty_app.test_cli_runner().invoke(args=args, input=PASSWORD)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert errors[0].startswith("Error: database error, nothing was written: ")
    assert "Traceback" not in result.output
