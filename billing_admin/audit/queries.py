"""Reading the audit trail: newest first, filtered, one page at a time."""

from dataclasses import dataclass

import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import AuditLog
from billing_admin.models.audit import AUDIT_ACTIONS
from billing_admin.pagination import Page


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    plan: str = ""
    actor: str = ""

    @classmethod
    def from_args(cls, args) -> "AuditFilters":
        """Filters from a query string; an unknown action is ignored rather than an error."""
        action = args.get("action", "")
        return cls(
            action=action if action in AUDIT_ACTIONS else "",
            plan=args.get("plan", "").strip()[:64],
            actor=args.get("admin", "").strip()[:255],
        )

    def as_args(self) -> dict[str, str]:
        return {
            k: v
            for k, v in {"action": self.action, "plan": self.plan, "admin": self.actor}.items()
            if v
        }


def _filtered(query, filters: AuditFilters):
    if filters.action:
        query = query.where(AuditLog.action == filters.action)
    if filters.plan:
        query = query.where(AuditLog.entity_type == "plan", AuditLog.entity_id == filters.plan)
    if filters.actor:
        query = query.where(AuditLog.actor == filters.actor)
    return query


def audit_page(filters: AuditFilters, page: int, page_size: int) -> Page[AuditLog]:
    total = db.session.scalar(_filtered(sa.select(sa.func.count(AuditLog.id)), filters)) or 0
    items = list(
        db.session.scalars(
            _filtered(sa.select(AuditLog), filters)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    return Page(items=items, total=total, page=page, page_size=page_size)


def audit_actors() -> list[str]:
    """Everyone who appears in the trail, for the filter's choices."""
    return list(db.session.scalars(sa.select(AuditLog.actor).distinct().order_by(AuditLog.actor)))
