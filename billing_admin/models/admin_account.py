import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db

# Roles in this dashboard. The platform's own ``user.role`` (admin or user) is left as the chat
# platform defines it; see docs/security.md, "Roles".
ACCOUNT_ROLES = ("admin", "viewer")


class AdminAccount(db.Model):
    """A person's access to this dashboard: role, status, second factor, first-sign-in rule.

    A table of its own keyed by the user's id rather than new columns and a wider role CHECK on
    ``user``: that table belongs to the chat platform and is referenced by subscriptions, API
    tokens and the audit log, and changing its CHECK on SQLite needs a table rebuild
    (migrations/versions/0009_admin_accounts.py says why that is avoided).

    ``totp_last_step`` is the RFC 6238 time step (Unix seconds // 30) of the last code accepted,
    so a code cannot be used twice within its window.
    """

    __tablename__ = "admin_account"
    __table_args__ = (sa.CheckConstraint("role IN ('admin', 'viewer')", name="role"),)

    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(16), default="admin")
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    disabled_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The account must choose its own password at its next sign-in (flask bootstrap-admin).
    must_change_password: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    last_sign_in_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Base32 TOTP secret (RFC 6238), set once enrolment is confirmed; None: no second factor.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The IANA zone pages show times in for this admin ("Europe/Moscow", zones.py); None: the
    # app's DISPLAY_TIMEZONE. Chosen on /account (issue 16).
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None

    def __repr__(self) -> str:
        return f"<AdminAccount {self.user_id} ({self.role})>"
