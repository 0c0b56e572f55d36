import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.extensions import db


class FormSubmission(db.Model):
    """One use of a form's one-time submission token (billing_admin/forms/once.py).

    ``key_hash`` is the SHA-256 of the signed-in user's id and the token, so a token means
    nothing for another account and the token itself is not stored. ``result_url`` is where the
    first submission led (its redirect); NULL while that submission is still being handled.
    Rows older than a day are deleted as new ones are claimed."""

    __tablename__ = "form_submission"

    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    result_url: Mapped[str | None] = mapped_column(sa.String(2048))
    created_at: Mapped[int] = mapped_column(sa.BigInteger, index=True)  # Unix seconds
