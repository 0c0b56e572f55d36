"""Migration 0009 (admin accounts) up and down with data present, on SQLite and PostgreSQL:
nothing referencing ``user`` is lost or unlinked, because ``user`` itself is not rebuilt."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from billing_admin.extensions import db
from tests.helpers import rows


def seed_before_0009() -> None:
    with db.engine.begin() as connection:
        run = connection.exec_driver_sql
        run(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) VALUES '
            "('a', 'a@example.com', 'A', 'admin', 5, 't1'), "
            "('u', 'u@example.com', 'U', 'user', 6, 't2')"
        )
        run(
            "INSERT INTO billing_plan (id, name, price, currency, interval, is_active, "
            "display_order, created_at, updated_at, version) "
            "VALUES ('p', 'P', 1, 'RUB', 'month', true, 0, 1, 1, 1)"
        )
        run(
            "INSERT INTO billing_subscription (id, user_id, plan_id, status, current_period_start, "
            "current_period_end, cancel_at_period_end, created_at, updated_at) "
            "VALUES ('s', 'u', 'p', 'active', 1, 2, false, 1, 1)"
        )
        run(
            "INSERT INTO api_token (id, name, user_id, token_hash, created_at) "
            "VALUES ('k', 'nightly', 'a', 'h', 1)"
        )
        run(
            "INSERT INTO billing_audit_log (user_id, actor, action, entity_type, entity_id, "
            "created_at) VALUES ('a', 'a@example.com', 'plan_created', 'plan', 'p', 1)"
        )
        run("INSERT INTO sign_in_failure (email, created_at) VALUES ('x@example.com', 1)")


def everything_else() -> dict[str, list[tuple]]:
    return {
        "users": rows('SELECT id, email, role, session_token FROM "user" ORDER BY id'),
        "subscriptions": rows("SELECT id, user_id FROM billing_subscription"),
        "tokens": rows("SELECT id, user_id FROM api_token"),
        "audit": rows("SELECT user_id, action FROM billing_audit_log"),
        "counts": rows("SELECT plan_id, status, count FROM billing_plan_subscription_count"),
    }


def test_0009_up_and_down_with_users_subscriptions_tokens_and_audit(empty_app):
    upgrade(revision="0005")
    seed_before_0009()
    before = everything_else()
    upgrade(revision="0009")
    assert everything_else() == before
    # Every platform admin became a dashboard admin.
    assert rows("SELECT user_id, role, must_change_password FROM admin_account") == [
        ("a", "admin", False)
    ]
    assert rows("SELECT email, client FROM sign_in_failure") == [("x@example.com", None)]
    # The foreign keys still hold after the upgrade: deleting the user cascades to its token.
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO admin_session (id, user_id, token_hash, created_at, last_seen_at, "
            "user_agent, ip_address) VALUES ('r', 'a', 'th', 1, 1, '', '')"
        )
    downgrade(revision="0005")
    assert everything_else() == before
    tables = set(sa.inspect(db.engine).get_table_names())
    assert not tables & {"admin_account", "admin_session", "recovery_code", "password_link"}
    upgrade()
    assert everything_else() == before
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM billing_subscription")
        connection.exec_driver_sql("DELETE FROM \"user\" WHERE id = 'a'")
    assert rows("SELECT id FROM api_token") == []  # ON DELETE CASCADE still in force
    assert rows("SELECT user_id FROM billing_audit_log") == [(None,)]  # SET NULL still in force
    assert rows("SELECT user_id FROM admin_account") == []
