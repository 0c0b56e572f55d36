"""Migration 0014 (token scopes, idempotency keys) up and down with data present, on SQLite and
PostgreSQL: tokens made before it become read-only, nothing else is touched, and the
downgrade keeps every token."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from billing_admin.extensions import db
from tests.helpers import assert_refused, rows
from tests.test_account_migration import everything_else, seed_before_0009


def test_0014_makes_existing_tokens_read_only_and_keeps_everything_on_the_way_down(empty_app):
    upgrade(revision="0005")
    seed_before_0009()
    upgrade(revision="0009")
    before = everything_else()
    upgrade(revision="0014")
    assert everything_else() == before
    assert rows("SELECT name, scope FROM api_token") == [("nightly", "read")]
    with db.engine.begin() as connection:
        run = connection.exec_driver_sql
        run(
            "INSERT INTO api_token (id, name, user_id, token_hash, created_at, scope) "
            "VALUES ('w', 'deploy', 'a', 'h2', 2, 'write')"
        )
        run(
            "INSERT INTO api_idempotency_key (owner, key, method, path, request_hash, status, "
            "response_body, response_headers, created_at, expires_at) VALUES "
            "('token:w', 'k', 'POST', '/p', 'x', 200, '{}', '{}', 1, 86401)"
        )
    # The scope is checked by the database too.
    assert_refused("UPDATE api_token SET scope = 'admin' WHERE id = 'w'")
    downgrade(revision="0009")
    assert "api_idempotency_key" not in sa.inspect(db.engine).get_table_names()
    assert rows("SELECT id, name, user_id FROM api_token ORDER BY id") == [
        ("k", "nightly", "a"),
        ("w", "deploy", "a"),
    ]
    upgrade(revision="0014")
    # Up again: every token is read-only until an admin makes a write token.
    assert rows("SELECT name, scope FROM api_token ORDER BY name") == [
        ("deploy", "read"),
        ("nightly", "read"),
    ]
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM billing_subscription")
        connection.exec_driver_sql("DELETE FROM \"user\" WHERE id = 'a'")
    assert rows("SELECT id FROM api_token") == []  # ON DELETE CASCADE survives the rebuild
