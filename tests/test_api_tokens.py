"""API tokens from the command line, and every way a Bearer header can be right or wrong."""

import hashlib

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import ApiToken, User
from tests.helpers import ADMIN_EMAIL, add_user, make_token


def whoami(client, authorization=None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.get("/api/v1/whoami", headers=headers)


def test_a_token_is_printed_once_and_only_its_hash_is_stored(runner, admin):
    token = make_token(runner, "nightly-report")
    assert token.startswith("bat_")
    assert len(token) >= 4 + 43  # 32 random bytes, URL-safe base64
    stored = db.session.scalars(sa.select(ApiToken)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = db.session.execute(sa.select(ApiToken.__table__)).one()
    assert token not in {str(value) for value in row}


def test_two_tokens_differ(runner, admin):
    assert make_token(runner, "a") != make_token(runner, "b")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--name", "x", "--admin", "nobody@example.com"],
            "no admin with email 'nobody@example.com'",
        ),
        (["--name", "x", "--admin", "user@example.com"], "no admin with email 'user@example.com'"),
        (["--name", "   ", "--admin", ADMIN_EMAIL], "the token name must be 1 to 100 characters"),
    ],
)
def test_create_api_token_errors_are_one_line(runner, admin, args, message):
    add_user("user@example.com")
    result = runner.invoke(args=["create-api-token", *args])
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"


def test_token_names_are_unique(runner, admin):
    make_token(runner, "dup")
    result = runner.invoke(args=["create-api-token", "--name", "dup", "--admin", ADMIN_EMAIL])
    assert result.exit_code == 1
    assert "a token named 'dup' already exists" in result.output


def test_list_api_tokens_shows_everything_but_the_token(runner, admin, client, set_clock):
    set_clock(1_800_000_000)
    token = make_token(runner, "nightly-report")
    make_token(runner, "unused")
    set_clock(1_800_003_600)
    assert whoami(client, f"Bearer {token}").status_code == 200
    result = runner.invoke(args=["list-api-tokens"])
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "OWNER", "SCOPE", "CREATED", "LAST", "USED", "STATUS"]
    created, used = ["2027-01-15", "08:00", "UTC"], ["2027-01-15", "09:00", "UTC"]
    assert lines[1].split() == ["nightly-report", ADMIN_EMAIL, "read", *created, *used, "active"]
    assert lines[2].split()[-2:] == ["never", "active"]
    assert token not in result.output


def test_revoke_api_token(runner, admin, client):
    token = make_token(runner, "nightly-report")
    result = runner.invoke(args=["revoke-api-token", "nightly-report"])
    assert (result.exit_code, result.output) == (0, "revoked nightly-report\n")
    response = whoami(client, f"Bearer {token}")
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Token revoked"}
    assert "revoked" in runner.invoke(args=["list-api-tokens"]).output


def test_revoking_an_unknown_token_is_an_error(runner, admin):
    result = runner.invoke(args=["revoke-api-token", "nope"])
    assert (result.exit_code, result.output) == (1, "Error: no token named 'nope'\n")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic YWRtaW46cGFzc3dvcmQ=", "bat_abc", "Bearer bat_wrong"],
)
def test_missing_malformed_or_wrong_credentials_get_401(client, admin, authorization):
    response = whoami(client, authorization)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_whose_owner_is_no_longer_an_admin_gets_403(runner, admin, client):
    token = make_token(runner, "nightly-report")
    db.session.execute(sa.update(User).values(role="user"))
    db.session.commit()
    response = whoami(client, f"Bearer {token}")
    assert response.status_code == 403
    assert response.get_json() == {"detail": "The token's owner is not an admin"}


def test_a_valid_token_speaks_for_its_admin(runner, admin, client):
    token = make_token(runner, "nightly-report")
    response = whoami(client, f"bearer {token}")
    assert response.status_code == 200
    assert response.get_json() == {
        "user_id": admin.id,
        "email": ADMIN_EMAIL,
        "name": "admin",
        "role": "admin",
    }


def test_a_signed_in_admin_reaches_the_api_with_the_session(admin_client):
    assert whoami(admin_client).get_json()["email"] == ADMIN_EMAIL


def test_last_used_is_recorded(runner, admin, client, set_clock):
    token = make_token(runner, "nightly-report")
    set_clock(1_800_000_000)
    whoami(client, f"Bearer {token}")
    db.session.rollback()
    assert db.session.scalars(sa.select(ApiToken)).one().last_used_at == 1_800_000_000
