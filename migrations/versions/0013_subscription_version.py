"""Subscriptions get a version, for lost-update protection of admins' actions on them.

Revision ID: 0013
Revises: 0016
Create Date: 2026-11-30

Issue 13: two admins acting on the same subscription at once cannot both win silently. Like
``billing_plan.version``, ``billing_subscription.version`` starts at 1 and is bumped by every
write this app makes to the row (subscriptions/actions.py, the move to the current price).

Upgrade: ``ALTER TABLE ... ADD COLUMN version INTEGER NOT NULL DEFAULT 1`` on both engines,
which existing rows take (no table rebuild: on SQLite a batch "move and copy" would drop the
counting triggers, and with foreign keys on it cannot drop the old table; see 0004 and 0009).
Downgrade: a plain ``DROP COLUMN`` (SQLite 3.35+, PostgreSQL), again without a rebuild, so the
table keeps its CHECK constraint, foreign keys, indexes and counting triggers
(tests/test_subscription_version_migration.py checks both ways with data present).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "billing_subscription",
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE billing_subscription DROP COLUMN version")
