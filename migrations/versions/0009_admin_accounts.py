"""Admin accounts: roles, second factor, sessions, set-password links, per-client failures.

Revision ID: 0009
Revises: 0011
Create Date: 2026-11-30

Why new tables rather than a wider role CHECK on ``user``: ``user`` is the chat platform's table
and is referenced by subscriptions, API tokens and the audit log. On SQLite, changing a CHECK
needs a batch "move and copy" rebuild; with foreign keys on, dropping the old table inside the
migration's transaction either fails (``FOREIGN KEY constraint failed``) or, with ON DELETE
CASCADE/SET NULL children, silently deletes or unlinks them (API tokens, audit authors), and
PRAGMA foreign_keys cannot be switched off inside a transaction. So ``user`` is not touched:
dashboard access lives in ``admin_account`` (keyed by the user's id), and the platform's
``user.role`` keeps meaning what it means to the platform. Only tables are created and one
nullable column is added to ``sign_in_failure`` (ALTER TABLE ADD COLUMN: no rebuild).
tests/test_account_migration.py upgrades and downgrades with users, subscriptions, tokens and
audit entries present, on SQLite and PostgreSQL, and checks nothing is lost.

Every existing platform admin gets an ``admin`` account. Downgrading drops the new tables:
viewers (users with role ``user``) lose their access, admins keep theirs through ``user.role``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_account",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("disabled_at", sa.BigInteger(), nullable=True),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("last_sign_in_at", sa.BigInteger(), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_enabled_at", sa.BigInteger(), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'viewer')", name=op.f("ck_admin_account_role")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_admin_account_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_admin_account")),
    )
    op.create_table(
        "admin_session",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_admin_session_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_admin_session_token_hash")),
    )
    op.create_index(op.f("ix_admin_session_user_id"), "admin_session", ["user_id"])
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_recovery_code_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recovery_code_code_hash")),
    )
    op.create_index(op.f("ix_recovery_code_user_id"), "recovery_code", ["user_id"])
    op.create_table(
        "password_link",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_password_link_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_link_token_hash")),
    )
    op.create_index(op.f("ix_password_link_user_id"), "password_link", ["user_id"])
    # ADD COLUMN, never a rebuild (SQLite included).
    op.add_column("sign_in_failure", sa.Column("client", sa.String(length=64), nullable=True))

    # Every platform admin is a dashboard admin, as before.
    op.execute(
        "INSERT INTO admin_account (user_id, role, created_at, must_change_password) "
        "SELECT id, 'admin', created_at, false FROM \"user\" WHERE role = 'admin'"
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+, PostgreSQL): no table rebuild.
    op.execute("ALTER TABLE sign_in_failure DROP COLUMN client")
    op.drop_index(op.f("ix_password_link_user_id"), table_name="password_link")
    op.drop_table("password_link")
    op.drop_index(op.f("ix_recovery_code_user_id"), table_name="recovery_code")
    op.drop_table("recovery_code")
    op.drop_index(op.f("ix_admin_session_user_id"), table_name="admin_session")
    op.drop_table("admin_session")
    op.drop_table("admin_account")
