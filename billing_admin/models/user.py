import secrets
import uuid

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db

USER_ROLES = ("admin", "user")


def new_id() -> str:
    return str(uuid.uuid4())


def new_session_token() -> str:
    return secrets.token_hex(16)


class User(UserMixin, db.Model):
    """A user of the chat platform; only role ``admin`` may use this dashboard."""

    __tablename__ = "user"
    __table_args__ = (sa.CheckConstraint("role IN ('admin', 'user')", name="role"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    role: Mapped[str] = mapped_column(sa.String(16), default="user")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    # Part of the id kept in the session cookie; changing it (at sign-out) ends every session
    # of this user, including copies of the cookie someone may have kept.
    session_token: Mapped[str] = mapped_column(sa.String(32), default=new_session_token)
    # The interface language this admin chose ("en", "ru"); None: follow the browser.
    locale: Mapped[str | None] = mapped_column(sa.String(8))

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.email} ({self.role})>"
