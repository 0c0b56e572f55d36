"""Writing the audit trail. Entries join the caller's transaction: a change and its entry
are committed together or not at all."""

from dataclasses import dataclass
from typing import Any

from billing_admin.extensions import db
from billing_admin.models import AuditLog, User


@dataclass(frozen=True)
class Actor:
    """Who made a change: words that outlive the user row, and the user when there is one."""

    name: str
    user_id: str | None = None

    @classmethod
    def for_user(cls, user: User) -> "Actor":
        return cls(user.email, user.id)


def record_plan_change(
    action: str,
    plan_id: str,
    changes: dict[str, dict[str, Any]] | None,
    *,
    actor: Actor,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditLog:
    entry = AuditLog(
        user_id=actor.user_id,
        actor=actor.name,
        action=action,
        entity_type="plan",
        entity_id=plan_id,
        description=description,
        changes=changes,
        audit_metadata=metadata,
    )
    db.session.add(entry)
    return entry
