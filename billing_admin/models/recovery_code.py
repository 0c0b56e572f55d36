import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.extensions import db


class RecoveryCode(db.Model):
    """A single-use second-factor recovery code; only its SHA-256 is stored (the codes carry
    80 random bits, so a fast hash cannot be reversed by guessing: auth/second_factor.py)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    used_at: Mapped[int | None] = mapped_column(sa.BigInteger)
