"""Writing the audit trail. Entries join the caller's transaction: a change and its entry
are committed together or not at all."""

from typing import Any

from billing_admin.extensions import db
from billing_admin.models import AuditLog


def record_plan_change(
    action: str,
    plan_id: str,
    changes: dict[str, dict[str, Any]] | None,
    *,
    actor: str,
    user_id: str | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditLog:
    entry = AuditLog(
        user_id=user_id,
        actor=actor,
        action=action,
        entity_type="plan",
        entity_id=plan_id,
        description=description,
        changes=changes,
        audit_metadata=metadata,
    )
    db.session.add(entry)
    return entry
