"""When subscriptions were canceled, and indexes for counting by date.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

Existing canceled subscriptions take their last update as the moment of cancellation: the
original system kept no date of its own, and the status change was their last update.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("billing_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("canceled_at", sa.BigInteger(), nullable=True))
    op.execute("UPDATE billing_subscription SET canceled_at = updated_at WHERE status = 'canceled'")
    with op.batch_alter_table("billing_subscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_subscription_canceled_at"), ["canceled_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_subscription_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_index("ix_billing_subscription_created_at", table_name="billing_subscription")
    op.drop_index("ix_billing_subscription_canceled_at", table_name="billing_subscription")
    # A plain DROP COLUMN (SQLite 3.35+): a batch "move and copy" would drop the table's
    # counting triggers from migration 0003 along with the old table.
    op.execute("ALTER TABLE billing_subscription DROP COLUMN canceled_at")
