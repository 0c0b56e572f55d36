import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db

USER_ROLES = ("admin", "user")


def new_id() -> str:
    return str(uuid.uuid4())


class User(db.Model):
    """A user of the chat platform; only role ``admin`` may use this dashboard."""

    __tablename__ = "user"
    __table_args__ = (sa.CheckConstraint("role IN ('admin', 'user')", name="role"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    role: Mapped[str] = mapped_column(sa.String(16), default="user")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<User {self.email} ({self.role})>"
