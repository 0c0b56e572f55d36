"""Initial schema: users, billing plans, subscriptions and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_plan",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_ru", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("description_ru", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="RUB", nullable=False),
        sa.Column("interval", sa.String(length=16), nullable=False),
        sa.Column("quotas", sa.JSON(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("display_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("plan_extra_metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_plan")),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'user')", name=op.f("ck_user_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
    )
    op.create_table(
        "billing_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("audit_metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_billing_audit_log_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_audit_log")),
    )
    with op.batch_alter_table("billing_audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_audit_log_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_billing_audit_log_entity", ["entity_type", "entity_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_billing_audit_log_user_id"), ["user_id"], unique=False)

    op.create_table(
        "billing_subscription",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_period_start", sa.BigInteger(), nullable=False),
        sa.Column("current_period_end", sa.BigInteger(), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("trial_end", sa.BigInteger(), nullable=True),
        sa.Column("extra_metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'trialing', 'past_due', 'paused', 'canceled')",
            name=op.f("ck_billing_subscription_status"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["billing_plan.id"],
            name=op.f("fk_billing_subscription_plan_id_billing_plan"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_billing_subscription_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_subscription")),
    )
    with op.batch_alter_table("billing_subscription", schema=None) as batch_op:
        batch_op.create_index(
            "ix_billing_subscription_plan_created", ["plan_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_subscription_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_subscription_user_id"))
        batch_op.drop_index("ix_billing_subscription_plan_created")

    op.drop_table("billing_subscription")
    with op.batch_alter_table("billing_audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_audit_log_user_id"))
        batch_op.drop_index("ix_billing_audit_log_entity")
        batch_op.drop_index(batch_op.f("ix_billing_audit_log_created_at"))

    op.drop_table("billing_audit_log")
    op.drop_table("user")
    op.drop_table("billing_plan")
