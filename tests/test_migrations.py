"""The migrations build the schema the models declare, and can be undone, on every engine."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from billing_admin.extensions import db

TABLES = set(db.metadata.tables)


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table(empty_app):
    assert table_names() == set()
    upgrade()
    assert table_names() == TABLES


def test_models_and_migrations_agree(empty_app):
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_to_base_removes_everything(empty_app):
    upgrade()
    downgrade(revision="base")
    assert table_names() == set()
    upgrade()  # and back up again from nothing
    assert table_names() == TABLES


def test_the_subscriber_index_covers_plan_then_newest_first(empty_app):
    upgrade()
    indexes = sa.inspect(db.engine).get_indexes("billing_subscription")
    columns = {index["name"]: index["column_names"] for index in indexes}
    assert columns["ix_billing_subscription_plan_created"] == ["plan_id", "created_at", "id"]


def test_existing_users_get_their_own_session_token_when_0002_runs(empty_app):
    upgrade(revision="0001")
    users = sa.table("user", *(sa.column(c) for c in ("id", "email", "name", "role", "created_at")))
    with db.engine.begin() as connection:
        connection.execute(
            sa.insert(users),
            [
                {
                    "id": f"u{n}",
                    "email": f"u{n}@example.com",
                    "name": "",
                    "role": "admin",
                    "created_at": 1,
                }
                for n in range(2)
            ],
        )
    upgrade()
    with db.engine.connect() as connection:
        tokens = connection.execute(sa.text('SELECT session_token FROM "user"')).scalars().all()
    assert len(set(tokens)) == 2
    assert all(len(token) == 32 for token in tokens)


def test_the_upgraded_schema_keeps_subscriber_counts(empty_app):
    """Migration 0003's triggers (a frozen copy of the models') count inserts, moves, deletes,
    and its backfill counts the rows that were there before."""
    upgrade(revision="0002")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
            "VALUES ('u', 'u@example.com', '', 'user', 1, 't')"
        )
        connection.exec_driver_sql(
            "INSERT INTO billing_plan (id, name, price, currency, interval, is_active, "
            "display_order, created_at, updated_at, version) "
            "VALUES ('a', 'A', 1, 'RUB', 'month', true, 0, 1, 1, 1), "
            "('b', 'B', 1, 'RUB', 'month', true, 0, 1, 1, 1)"
        )
        insert = (
            "INSERT INTO billing_subscription (id, user_id, plan_id, status, "
            "current_period_start, current_period_end, cancel_at_period_end, created_at, "
            "updated_at) VALUES (:id, 'u', :plan, :status, 1, 2, false, 1, 1)"
        )
        connection.execute(sa.text(insert), [{"id": "old", "plan": "a", "status": "active"}])
    upgrade()
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(insert),
            [
                {"id": "s1", "plan": "a", "status": "active"},
                {"id": "s2", "plan": "a", "status": "trialing"},
                {"id": "s3", "plan": "b", "status": "active"},
            ],
        )
        connection.exec_driver_sql(
            "UPDATE billing_subscription SET status = 'canceled' WHERE id = 's2'"
        )
        connection.exec_driver_sql("UPDATE billing_subscription SET plan_id = 'b' WHERE id = 's1'")
        connection.exec_driver_sql("DELETE FROM billing_subscription WHERE id = 's3'")
    with db.engine.connect() as connection:
        counts = connection.execute(
            sa.text(
                "SELECT plan_id, status, count FROM billing_plan_subscription_count "
                "WHERE count <> 0 ORDER BY plan_id, status"
            )
        ).all()
    assert [tuple(row) for row in counts] == [
        ("a", "active", 1),
        ("a", "canceled", 1),
        ("b", "active", 1),
    ]


def test_downgrading_0004_keeps_the_counting_triggers(empty_app):
    upgrade()
    downgrade(revision="0003")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
            "VALUES ('u', 'u@example.com', '', 'user', 1, 't')"
        )
        connection.exec_driver_sql(
            "INSERT INTO billing_plan (id, name, price, currency, interval, is_active, "
            "display_order, created_at, updated_at, version) "
            "VALUES ('a', 'A', 1, 'RUB', 'month', true, 0, 1, 1, 1)"
        )
        connection.exec_driver_sql(
            "INSERT INTO billing_subscription (id, user_id, plan_id, status, current_period_start, "
            "current_period_end, cancel_at_period_end, created_at, updated_at) "
            "VALUES ('s', 'u', 'a', 'active', 1, 2, false, 1, 1)"
        )
        count = connection.exec_driver_sql(
            "SELECT count FROM billing_plan_subscription_count WHERE plan_id = 'a'"
        ).scalar()
    assert count == 1


def _migration(revision: str):
    """A revision's module, found by its id (the lead re-chains down_revision when merging)."""
    import importlib.util
    from pathlib import Path

    [path] = Path(__file__).resolve().parent.parent.glob(f"migrations/versions/{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


AUDIT_CHAIN = _migration("0011")


def _insert_old_audit_entries(connection, count: int) -> None:
    connection.exec_driver_sql(
        'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
        "VALUES ('u', 'u@example.com', '', 'admin', 1, 't')"
    )
    connection.execute(
        sa.text(
            "INSERT INTO billing_audit_log (id, user_id, actor, action, entity_type, entity_id, "
            "description, changes, audit_metadata, created_at) VALUES (:id, :user, 'u@example.com', "
            "'plan_updated', 'plan', 'pro', :description, :changes, NULL, :created_at)"
        ),
        [
            {
                "id": n * 2,  # gaps, as a sequence leaves after rolled-back inserts
                "user": "u" if n % 2 else None,
                "description": None if n % 3 else "Cena \u20bd",
                "changes": f'{{"price": {{"old": "{n}.00", "new": "{n + 1}.00"}}}}',
                "created_at": 1_700_000_000 + n,
            }
            for n in range(1, count + 1)
        ],
    )


def test_0011_chains_the_entries_already_there_and_makes_them_append_only(empty_app):
    from billing_admin.audit.service import Actor, record_plan_change
    from billing_admin.audit.verification import walk_chain
    from billing_admin.models import AuditLog

    upgrade(revision=AUDIT_CHAIN.down_revision)
    with db.engine.begin() as connection:
        _insert_old_audit_entries(connection, 12)
    upgrade()
    report = walk_chain(batch_size=5)
    assert (report.ok, report.entries, report.last_entry_id) == (True, 12, 24)
    # New entries continue the chain after the old ones.
    record_plan_change("plan_updated", "pro", None, actor=Actor("x"))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.max(AuditLog.id))) == 25
    assert walk_chain().entries == 13
    # The triggers are in place; the foreign key's SET NULL still works.
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM \"user\" WHERE id = 'u'")
    for statement in ("DELETE FROM billing_audit_log", "UPDATE billing_audit_log SET actor = 'y'"):
        try:
            with db.engine.begin() as connection:
                connection.exec_driver_sql(statement)
        except sa.exc.IntegrityError as error:
            assert "append-only" in str(error.orig)
        else:
            raise AssertionError(f"{statement} was allowed")
    assert walk_chain().ok


def test_0011_downgrade_keeps_the_entries_and_lets_older_downgrades_delete_them(empty_app):
    from billing_admin.audit.service import Actor, record_plan_change
    from billing_admin.audit.verification import walk_chain

    upgrade()
    for n in range(3):
        record_plan_change("plan_updated", f"p{n}", None, actor=Actor("x"))
        db.session.commit()
    db.session.remove()
    downgrade(revision=AUDIT_CHAIN.down_revision)
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("billing_audit_log")}
    assert {"prev_hash", "entry_hash"}.isdisjoint(columns)
    assert "billing_audit_verification" not in table_names()
    with db.engine.begin() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM billing_audit_log").scalar() == 3
        connection.exec_driver_sql("UPDATE billing_audit_log SET actor = 'y' WHERE id = 1")
        connection.exec_driver_sql("DELETE FROM billing_audit_log WHERE id = 1")
    upgrade()  # and up again, chaining what is left
    assert walk_chain().entries == 2
