"""Small things a newcomer tripped on (the admin's working day): commands that say what to do
instead of a Python warning, no stray progress lines off a terminal, UTF-8 JSON, and a README
that matches the project."""

import io
import re
import sys
from pathlib import Path

import pytest

from billing_admin.progress import progress_bar
from tests.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, add_user

ROOT = Path(__file__).resolve().parent.parent


def test_create_admin_without_a_terminal_says_to_use_password_stdin(runner, monkeypatch):
    # CliRunner's stdin is not a terminal, as in a script or CI.
    result = runner.invoke(args=["create-admin", "--email", "someone@example.com"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: no terminal to ask for the password on: pipe it in with --password-stdin\n"
    )
    assert "Aborted" not in result.output and "Warning" not in result.output


def test_create_admin_with_password_stdin_still_works(runner):
    result = runner.invoke(
        args=["create-admin", "--email", "someone@example.com", "--password-stdin"],
        input="a long and unusual passphrase 42\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output == "created admin someone@example.com\n"


def test_seed_demo_prints_no_stray_progress_line_off_a_terminal(runner):
    assert runner.invoke(args=["seed-plans"]).exit_code == 0
    result = runner.invoke(args=["seed-demo", "--subscriptions", "5", "--random-seed", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "added 5 demo users and 5 subscriptions\n"
    assert result.stderr == ""


def test_the_progress_bar_shows_on_a_terminal(monkeypatch):
    terminal = io.StringIO()
    terminal.isatty = lambda: True
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(4, "moving") as bar:
        bar.update(4)
    assert "moving" in terminal.getvalue()


def test_json_answers_are_utf8_not_escaped(app, client, auth):
    add_user(ADMIN_EMAIL, ADMIN_PASSWORD, role="admin").name = "Анна Ёлкина"
    from billing_admin.extensions import db

    db.session.commit()
    auth.login()
    response = client.get("/api/v1/whoami")
    body = response.get_data()
    assert "Анна Ёлкина".encode() in body
    assert b"\\u04" not in body
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    "pattern",
    [
        r"\bissues? \d+\b",  # the tracker's numbers mean nothing to a reader of the repository
        r"\.\./shared/",  # outside the repository
        r"gunicorn is not a dependency",
    ],
)
def test_the_readme_says_only_what_a_newcomer_can_follow(pattern):
    readme = (ROOT / "README.md").read_text()
    assert not re.search(pattern, readme, re.IGNORECASE), pattern


def test_the_readme_links_resolve():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(((?:docs|static|billing_admin|tests|bench)/[^)#]+)", readme):
        assert (ROOT / target).exists(), target
