from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db

PLAN_ACTIONS = (
    "plan_created",
    "plan_updated",
    "plan_deleted",
    "plan_activated",
    "plan_deactivated",
    "plan_duplicated",
)
# Security events (entity_type "account", "api_token" or "sign_in"; docs/security.md).
SECURITY_ACTIONS = (
    "sign_in_succeeded",
    "sign_in_failed",
    "sign_in_throttled",
    "signed_out",
    "sessions_ended",
    "password_changed",
    "second_factor_enrolled",
    "second_factor_reset",
    "recovery_code_used",
    "account_created",
    "account_changed",
    "account_disabled",
    "account_enabled",
    "token_created",
    "token_revoked",
    "revoked_token_used",
    "access_denied",
)
AUDIT_ACTIONS = PLAN_ACTIONS + SECURITY_ACTIONS


class AuditLog(db.Model):
    """One change to one entity. ``changes`` is shaped ``{"price": {"old": "490.00", "new": ...}}``.

    ``actor`` names who acted in words that outlive the user row (an email, or
    ``flask seed-plans`` for the command line); ``user_id`` links to the user when there is one.
    The audit trail keeps no foreign key to the plan: it must survive the plan's deletion.
    """

    __tablename__ = "billing_audit_log"
    __table_args__ = (
        sa.Index("ix_billing_audit_log_entity", "entity_type", "entity_id", "created_at"),
    )

    # An increasing integer: entries written in the same second keep the order they were made.
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(sa.String(255))
    action: Mapped[str] = mapped_column(sa.String(32))
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    description: Mapped[str | None] = mapped_column(sa.Text)
    changes: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    audit_metadata: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch, index=True)

    def __repr__(self) -> str:
        return f"<AuditLog {self.action} {self.entity_type}:{self.entity_id}>"
