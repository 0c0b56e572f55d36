import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models.user import new_id


class PasswordLink(db.Model):
    """A one-time link for an account to set its password (the app sends no email: the admin
    who made it passes it on). Only the SHA-256 of the link's token is stored."""

    __tablename__ = "password_link"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    expires_at: Mapped[int] = mapped_column(sa.BigInteger)
    used_at: Mapped[int | None] = mapped_column(sa.BigInteger)
