import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db


class SignInFailure(db.Model):
    """One failed sign-in for an email, whether or not a user has it, and the client address it
    came from (a wrong password or a wrong second-factor code; auth/throttle.py).

    Kept in the database so every worker process and restart sees the same count.
    """

    __tablename__ = "sign_in_failure"
    __table_args__ = (sa.Index("ix_sign_in_failure_email_created", "email", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    client: Mapped[str | None] = mapped_column(sa.String(64))
