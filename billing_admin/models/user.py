import secrets
import uuid
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing_admin.clock import now_epoch
from billing_admin.extensions import db

USER_ROLES = ("admin", "user")

if TYPE_CHECKING:
    from billing_admin.models.admin_account import AdminAccount


def new_id() -> str:
    return str(uuid.uuid4())


def new_session_token() -> str:
    return secrets.token_hex(16)


class User(UserMixin, db.Model):
    """A user of the chat platform. Who may use this dashboard, and how, is ``dashboard_role``."""

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

    # The dashboard account (role, status, second factor), if this user has one.
    account: Mapped["AdminAccount | None"] = relationship(lazy="joined", uselist=False)

    @property
    def dashboard_role(self) -> str | None:
        """``admin``, ``viewer``, or None (no access to this dashboard).

        An admin here must be an admin of the platform (``role == "admin"``, the original
        system's rule), so a user the platform demotes loses the dashboard too. A platform admin
        without an account row (made by the platform itself) is an admin, as before accounts
        existed. A viewer needs an account row with role ``viewer``. A disabled account has no
        access, whatever its roles."""
        account = self.account
        if account is not None and account.is_disabled:
            return None
        if self.role == "admin":
            return account.role if account is not None else "admin"
        if account is not None and account.role == "viewer":
            return "viewer"
        return None

    @property
    def is_admin(self) -> bool:
        return self.dashboard_role == "admin"

    @property
    def has_dashboard_access(self) -> bool:
        return self.dashboard_role is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.email} ({self.role})>"
