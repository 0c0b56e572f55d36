"""The API writes (issue 14): token scopes and idempotency keys.

Revision ID: 0014
Revises: 0009
Create Date: 2026-11-30

- ``api_token.scope``: ``read`` or ``write`` (CHECK). Every token that exists when this runs
  becomes ``read``: it was made for a read-only API, and a script gains writes only when an
  admin makes it a write token (``flask create-api-token --scope write``). On SQLite the CHECK
  is added by rebuilding ``api_token`` (batch "move and copy"); no table references it, so
  nothing is unlinked.
- ``api_idempotency_key``: the first answer to each POST's ``Idempotency-Key``, per credential,
  kept 24 hours (api/idempotency.py).

Downgrade drops the keys table and the scope: write tokens become what every token was before,
read-only API tokens of an API that had no writes. Tokens themselves are kept.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=8), server_default="read", nullable=False)
        )
        batch_op.create_check_constraint("scope", "scope IN ('read', 'write')")
    op.create_table(
        "api_idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency_key")),
        sa.UniqueConstraint("owner", "key", name="uq_api_idempotency_key_owner_key"),
    )
    with op.batch_alter_table("api_idempotency_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_idempotency_key_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("api_idempotency_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_idempotency_key_expires_at"))
    op.drop_table("api_idempotency_key")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint("scope", type_="check")
        batch_op.drop_column("scope")
