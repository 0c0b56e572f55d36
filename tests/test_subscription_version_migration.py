"""Migration 0013 (issue 13): subscriptions get a version, up and down with data present, on
SQLite and PostgreSQL; the table keeps its CHECK constraint, foreign keys, indexes and counting
triggers both ways (no SQLite table rebuild)."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from billing_admin.extensions import db
from tests.helpers import (
    assert_refused,
    assert_sqlite_intact,
    counts_by_price,
    migration_module,
    real_counts_by_price,
    rows,
    subscription_indexes,
)

BEFORE = migration_module("0013").down_revision

INSERT = (
    "INSERT INTO billing_subscription (id, user_id, plan_id, price_id, status, "
    "current_period_start, current_period_end, cancel_at_period_end, created_at, updated_at) "
    "SELECT :id, 'u', plan_id, id, :status, 1, 2, false, 1, 1 FROM billing_price "
    "WHERE plan_id = :plan AND active_until IS NULL"
)
SUBSCRIPTIONS = [
    ("s1", "a", "active"),
    ("s2", "a", "trialing"),
    ("s3", "a", "canceled"),
    ("s4", "b", "paused"),
]


def fill() -> None:
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
            "VALUES ('u', 'u@example.com', '', 'user', 1, 't')"
        )
        connection.exec_driver_sql(
            "INSERT INTO billing_plan (id, name, price, currency, interval, is_active, "
            "display_order, created_at, updated_at, version) "
            "VALUES ('a', 'A', 1, 'RUB', 'month', true, 0, 1, 1, 1), "
            "('b', 'B', 2, 'RUB', 'month', true, 1, 1, 1, 1)"
        )
        connection.execute(
            sa.text(INSERT), [{"id": i, "plan": p, "status": s} for i, p, s in SUBSCRIPTIONS]
        )


def assert_table_intact() -> None:
    """The CHECK on status, the foreign keys and the counting triggers still work."""
    assert_refused("UPDATE billing_subscription SET status = 'bogus' WHERE id = 's1'")
    assert_refused("UPDATE billing_subscription SET user_id = 'nobody' WHERE id = 's1'")
    assert_refused("UPDATE billing_subscription SET plan_id = 'b' WHERE id = 's1'")  # its price
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE billing_subscription SET status = 'paused' WHERE id = 's1'"
        )
        connection.execute(sa.text(INSERT), {"id": "s9", "plan": "b", "status": "active"})
        connection.exec_driver_sql("DELETE FROM billing_subscription WHERE id = 's9'")
        connection.exec_driver_sql(
            "UPDATE billing_subscription SET status = 'active' WHERE id = 's1'"
        )
    assert counts_by_price() == real_counts_by_price()
    assert_sqlite_intact()


def test_0013_gives_every_existing_subscription_version_1(empty_app):
    upgrade(revision=BEFORE)
    fill()
    before_indexes, before_counts = subscription_indexes(), counts_by_price()
    upgrade(revision="0013")
    assert rows("SELECT id, version FROM billing_subscription ORDER BY id") == [
        (i, 1) for i, _, _ in SUBSCRIPTIONS
    ]
    assert subscription_indexes() == before_indexes
    assert counts_by_price() == before_counts == real_counts_by_price()
    assert_table_intact()
    # A row inserted without naming it (as the platform does) starts at 1 too.
    with db.engine.begin() as connection:
        connection.execute(sa.text(INSERT), {"id": "s5", "plan": "a", "status": "active"})
    assert rows("SELECT version FROM billing_subscription WHERE id = 's5'") == [(1,)]


def test_0013_down_drops_the_column_and_keeps_rows_constraints_and_triggers(empty_app):
    upgrade(revision=BEFORE)
    fill()
    before_indexes = subscription_indexes()
    upgrade(revision="0013")
    with db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE billing_subscription SET version = 5 WHERE id = 's2'")
    downgrade(revision=BEFORE)
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("billing_subscription")}
    assert "version" not in columns
    assert rows("SELECT id, plan_id, status FROM billing_subscription ORDER BY id") == [
        tuple(s) for s in SUBSCRIPTIONS
    ]
    assert subscription_indexes() == before_indexes
    assert counts_by_price() == real_counts_by_price()
    assert_table_intact()
    upgrade()  # and up again
    assert rows("SELECT count(*) FROM billing_subscription WHERE version = 1") == [(4,)]
