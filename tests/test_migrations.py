"""The migrations build the schema the models declare, and can be undone, on every engine."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from billing_admin.extensions import db

TABLES = {
    "user",
    "billing_plan",
    "billing_subscription",
    "billing_audit_log",
    "sign_in_failure",
    "api_token",
}


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
