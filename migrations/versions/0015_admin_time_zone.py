"""The time zone an admin chose (issue 16: times shown in the admin's own zone).

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-30

``admin_account.time_zone``: an IANA name (``Europe/Moscow``), nullable with no default, so
every existing account keeps seeing times in the app's ``DISPLAY_TIMEZONE``. Upgrade is an
``ALTER TABLE ... ADD COLUMN`` on both engines (no table rebuild on SQLite); downgrade a plain
``DROP COLUMN`` (SQLite 3.35+, PostgreSQL), which forgets the choices and nothing else.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("admin_account", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE admin_account DROP COLUMN time_zone")
