"""One-time form submission tokens (issue 16: forms never lose what was typed).

Revision ID: 0016
Revises: 0012
Create Date: 2026-11-30

``form_submission`` records each use of a form's one-time token (billing_admin/forms/once.py):
the SHA-256 of the user's id and the token, where the first submission led, and when. The rows
are short-lived (a day); downgrade drops the table with them, which only means a form submitted
twice across the downgrade is handled twice.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_submission",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("result_url", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_form_submission")),
    )
    op.create_index(op.f("ix_form_submission_created_at"), "form_submission", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_form_submission_created_at"), table_name="form_submission")
    op.drop_table("form_submission")
