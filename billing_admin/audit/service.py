"""Writing the audit trail. Every entry is made here (``record``), whatever it is about.

Entries join the caller's transaction: a change and its entry are committed together or not at
all. ``record_event`` is for events that are their own unit of work (a refused sign-in, a 403):
it writes and commits the entry alone.

``record`` only adds an ``AuditLog`` to the session: the hash chain is filled in at flush time by
models/audit_chain.py, for any ``AuditLog`` added through any session, so a new kind of entry (a
new action, a new entity type, a new writer) is chained with no work of its own. The database
refuses to change or delete entries once written (models/audit.py).

On PostgreSQL the first flush that holds an entry takes the append lock until commit: take the
row locks a change needs (``SELECT ... FOR UPDATE``) before recording it, and commit soon after,
so appenders never wait on each other's rows while holding it.
"""

from dataclasses import dataclass
from typing import Any

from billing_admin.extensions import db
from billing_admin.models import AuditLog, User
from billing_admin.transactions import start_write


@dataclass(frozen=True)
class Actor:
    """Who made a change: words that outlive the user row, and the user when there is one."""

    name: str
    user_id: str | None = None

    @classmethod
    def for_user(cls, user: User) -> "Actor":
        return cls(user.email, user.id)


# Who acts when nobody is signed in (a failed sign-in, a script with a revoked token).
ANONYMOUS = Actor("anonymous")


def record(
    action: str,
    entity_type: str,
    entity_id: str,
    *,
    actor: Actor,
    description: str | None = None,
    changes: dict[str, dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one entry to the session (the caller commits). ``action`` is one of
    models/audit.py's AUDIT_ACTIONS; ``changes`` is ``{field: {"old": ..., "new": ...}}`` with
    JSON values (ValueError at flush for a value JSON cannot hold); ``metadata`` holds what the
    page shows beside it (for security events: ``email``, ``address``, ``reason``, ``role``...),
    never a secret."""
    entry = AuditLog(
        user_id=actor.user_id,
        actor=actor.name[:255],
        action=action,
        entity_type=entity_type,
        entity_id=entity_id[:64],
        description=description,
        changes=changes,
        audit_metadata=metadata,
    )
    db.session.add(entry)
    return entry


def record_event(
    action: str,
    entity_type: str,
    entity_id: str,
    *,
    actor: Actor,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write one entry in a unit of work of its own, and commit it."""
    start_write()
    record(action, entity_type, entity_id, actor=actor, metadata=metadata)
    db.session.commit()


def record_plan_change(
    action: str,
    plan_id: str,
    changes: dict[str, dict[str, Any]] | None,
    *,
    actor: Actor,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditLog:
    return record(
        action,
        "plan",
        plan_id,
        actor=actor,
        description=description,
        changes=changes,
        metadata=metadata,
    )
