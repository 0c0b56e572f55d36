"""The interface language an admin chose.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

Nullable with no default: existing admins keep following their browser's language. SQLite adds
the column in place (no table rebuild), so the subscriptions' foreign keys are untouched.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user", sa.Column("locale", sa.String(length=8), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+, PostgreSQL): no table rebuild on SQLite.
    op.execute('ALTER TABLE "user" DROP COLUMN locale')
