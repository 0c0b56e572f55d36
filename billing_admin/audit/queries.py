"""Reading the audit trail: newest first, filtered, one page at a time."""

from dataclasses import dataclass

import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import AuditLog
from billing_admin.models.audit import (
    AUDIT_ACTIONS,
    PLAN_ACTIONS,
    SECURITY_ACTIONS,
    SUBSCRIPTION_ACTIONS,
)
from billing_admin.pagination import Page

# ?kind=: plan changes, admins' actions on subscriptions, or security events (sign-ins,
# accounts, tokens, refusals).
KINDS = {
    "plans": PLAN_ACTIONS,
    "subscriptions": SUBSCRIPTION_ACTIONS,
    "security": SECURITY_ACTIONS,
}


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    plan: str = ""
    actor: str = ""
    kind: str = ""

    @classmethod
    def from_args(cls, args) -> "AuditFilters":
        """Filters from a query string; an unknown action or kind is ignored, not an error."""
        action = args.get("action", "")
        kind = args.get("kind", "")
        return cls(
            action=action if action in AUDIT_ACTIONS else "",
            plan=args.get("plan", "").strip()[:64],
            actor=args.get("admin", "").strip()[:255],
            kind=kind if kind in KINDS else "",
        )

    def as_args(self) -> dict[str, str]:
        values = {"kind": self.kind, "action": self.action, "plan": self.plan, "admin": self.actor}
        return {k: v for k, v in values.items() if v}


def _filtered(query, filters: AuditFilters):
    if filters.kind:
        query = query.where(AuditLog.action.in_(KINDS[filters.kind]))
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
