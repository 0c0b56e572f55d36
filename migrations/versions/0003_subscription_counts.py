"""Subscriber counts kept by triggers, and an index for one status of one plan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

The trigger DDL is a frozen copy of billing_admin/models/subscription_count.py as of this
revision (a later change to the triggers needs a migration of its own).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "billing_plan_subscription_count"

SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER billing_subscription_count_insert AFTER INSERT ON billing_subscription
    BEGIN
        INSERT INTO {TABLE} (plan_id, status, count) VALUES (NEW.plan_id, NEW.status, 1)
        ON CONFLICT (plan_id, status) DO UPDATE SET count = count + 1;
    END
    """,
    f"""
    CREATE TRIGGER billing_subscription_count_delete AFTER DELETE ON billing_subscription
    BEGIN
        UPDATE {TABLE} SET count = count - 1
        WHERE plan_id = OLD.plan_id AND status = OLD.status;
    END
    """,
    f"""
    CREATE TRIGGER billing_subscription_count_update
    AFTER UPDATE OF plan_id, status ON billing_subscription
    WHEN OLD.plan_id IS NOT NEW.plan_id OR OLD.status IS NOT NEW.status
    BEGIN
        UPDATE {TABLE} SET count = count - 1
        WHERE plan_id = OLD.plan_id AND status = OLD.status;
        INSERT INTO {TABLE} (plan_id, status, count) VALUES (NEW.plan_id, NEW.status, 1)
        ON CONFLICT (plan_id, status) DO UPDATE SET count = count + 1;
    END
    """,
)

POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION billing_subscription_count_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            INSERT INTO {TABLE} AS c (plan_id, status, count)
            SELECT plan_id, status, -count(*) FROM old_rows GROUP BY plan_id, status
            ON CONFLICT (plan_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO {TABLE} AS c (plan_id, status, count)
            SELECT plan_id, status, count(*) FROM new_rows GROUP BY plan_id, status
            ON CONFLICT (plan_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER billing_subscription_count_insert AFTER INSERT ON billing_subscription
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_subscription_count_sync()
    """,
    """
    CREATE TRIGGER billing_subscription_count_update AFTER UPDATE ON billing_subscription
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_subscription_count_sync()
    """,
    """
    CREATE TRIGGER billing_subscription_count_delete AFTER DELETE ON billing_subscription
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_subscription_count_sync()
    """,
)

TRIGGER_NAMES = (
    "billing_subscription_count_insert",
    "billing_subscription_count_update",
    "billing_subscription_count_delete",
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["billing_plan.id"],
            name=op.f("fk_billing_plan_subscription_count_plan_id_billing_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "plan_id", "status", name=op.f("pk_billing_plan_subscription_count")
        ),
    )
    with op.batch_alter_table("billing_subscription", schema=None) as batch_op:
        batch_op.create_index(
            "ix_billing_subscription_plan_status_created",
            ["plan_id", "status", "created_at", "id"],
            unique=False,
        )
    # Count what is there now, then let the triggers keep the counts from here on.
    op.execute(
        f"INSERT INTO {TABLE} (plan_id, status, count) "
        "SELECT plan_id, status, count(*) FROM billing_subscription GROUP BY plan_id, status"
    )
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(
        dialect, ()
    ):
        op.execute(statement)


def downgrade() -> None:
    for name in TRIGGER_NAMES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON billing_subscription")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS billing_subscription_count_sync()")
    with op.batch_alter_table("billing_subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_subscription_plan_status_created")
    op.drop_table(TABLE)
