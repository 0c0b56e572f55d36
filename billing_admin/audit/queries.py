"""Reading the audit trail: newest first, filtered, one page at a time, or every matching
entry in batches for an export.

The date range (issue 16) is typed as days and read in the admin's time zone: "from 2026-01-01
to 2026-01-31" in Europe/Moscow is ``[2025-12-31 21:00 UTC, 2026-01-31 21:00 UTC)``, both days
whole. A bound that is not a date, or a start after the end, is not applied: the page shows a
message by the field and keeps what was typed.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

import sqlalchemy as sa
from flask_babel import gettext

from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan
from billing_admin.models.audit import (
    AUDIT_ACTIONS,
    PLAN_ACTIONS,
    SECURITY_ACTIONS,
    SUBSCRIPTION_ACTIONS,
)
from billing_admin.pagination import Page
from billing_admin.sqlite import small_cache

# ?kind=: plan changes, admins' actions on subscriptions, or security events (sign-ins,
# accounts, tokens, refusals).
KINDS = {
    "plans": PLAN_ACTIONS,
    "subscriptions": SUBSCRIPTION_ACTIONS,
    "security": SECURITY_ACTIONS,
}


EXPORT_BATCH = 1_000
DATE_TYPED_MAX = 32
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class DateRange:
    """Unix seconds: ``start`` inclusive, ``end`` exclusive (None: open). ``errors``: the
    message for each field ("from", "to") whose value is not applied."""

    start: int | None = None
    end: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _day(text: str) -> date | None:
    if not ISO_DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _midnight(day: date, zone: tzinfo) -> int | None:
    """The Unix time of the day's start in ``zone`` (None: before year 1 in UTC, no bound).
    zoneinfo zones resolve a midnight that does not exist or happens twice (PEP 495, fold=0)."""
    try:
        return int(datetime.combine(day, time(), tzinfo=zone).timestamp())
    except OverflowError:
        return None


def date_range(typed_from: str, typed_to: str, zone: tzinfo) -> DateRange:
    """Days typed as YYYY-MM-DD (what a date input sends), read in ``zone``: from the start
    of ``typed_from`` to the end of ``typed_to``, either may be blank. A value that is not a
    date is left out, with a message; a start after the end leaves both out, with a message
    by the end. Never raises."""
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name, text in (("from", typed_from), ("to", typed_to)):
        days[name] = _day(text) if text else None
        if text and days[name] is None:
            errors[name] = gettext("Enter a date as YYYY-MM-DD, like 2026-01-31.")
    first, last = days["from"], days["to"]
    if first and last and first > last:
        errors["to"] = gettext("The end date is before the start date.")
        return DateRange(errors=errors)
    start = _midnight(first, zone) if first else None
    end = _midnight(last + timedelta(days=1), zone) if last and last < date.max else None
    return DateRange(start, end, errors)


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    plan: str = ""
    actor: str = ""
    kind: str = ""
    # One subscription's entries (its page links here when it has more than it shows).
    subscription: str = ""
    # The days as typed (kept whatever they are, so the form shows them again).
    date_from: str = ""
    date_to: str = ""

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
            subscription=args.get("subscription", "").strip()[:64],
            date_from=args.get("from", "").strip()[:DATE_TYPED_MAX],
            date_to=args.get("to", "").strip()[:DATE_TYPED_MAX],
        )

    def as_args(self) -> dict[str, str]:
        values = {
            "kind": self.kind,
            "action": self.action,
            "plan": self.plan,
            "admin": self.actor,
            "subscription": self.subscription,
            "from": self.date_from,
            "to": self.date_to,
        }
        return {k: v for k, v in values.items() if v}

    def dates(self, zone: tzinfo) -> DateRange:
        return date_range(self.date_from, self.date_to, zone)


def _filtered(query, filters: AuditFilters, zone: tzinfo):
    dates = filters.dates(zone)
    if dates.start is not None:
        query = query.where(AuditLog.created_at >= dates.start)
    if dates.end is not None:
        query = query.where(AuditLog.created_at < dates.end)
    if filters.kind:
        query = query.where(AuditLog.action.in_(KINDS[filters.kind]))
    if filters.action:
        query = query.where(AuditLog.action == filters.action)
    if filters.plan:
        query = query.where(AuditLog.entity_type == "plan", AuditLog.entity_id == filters.plan)
    if filters.actor:
        query = query.where(AuditLog.actor == filters.actor)
    if filters.subscription:
        query = query.where(
            AuditLog.entity_type == "subscription", AuditLog.entity_id == filters.subscription
        )
    return query


def audit_page(filters: AuditFilters, page: int, page_size: int, zone: tzinfo) -> Page[AuditLog]:
    """One page of the entries matching ``filters``, newest first; days in ``zone``."""
    count = _filtered(sa.select(sa.func.count(AuditLog.id)), filters, zone)
    total = db.session.scalar(count) or 0
    items = list(
        db.session.scalars(
            _filtered(sa.select(AuditLog), filters, zone)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    return Page(items=items, total=total, page=page, page_size=page_size)


def iter_audit(filters: AuditFilters, zone: tzinfo) -> Iterator[AuditLog]:
    """Every entry matching ``filters``, newest first (the page's order), read
    ``EXPORT_BATCH`` at a time by key ``(created_at, id)``: memory stays flat however long the
    trail (the CSV and .xlsx exports), with a small SQLite page cache (sqlite.small_cache).
    Each batch's rows are expunged once read."""
    with small_cache(db.session.connection()):
        yield from _walk_audit(filters, zone)


def _walk_audit(filters: AuditFilters, zone: tzinfo) -> Iterator[AuditLog]:
    query = (
        _filtered(sa.select(AuditLog), filters, zone)
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(EXPORT_BATCH)
    )
    key = sa.tuple_(AuditLog.created_at, AuditLog.id)
    last = None
    while True:
        batch = list(db.session.scalars(query if last is None else query.where(key < last)))
        for entry in batch:
            db.session.expunge(entry)
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        last = (batch[-1].created_at, batch[-1].id)


def plan_currencies(plan_ids: set[str]) -> dict[str, str]:
    """``{plan id: currency}`` of those plans that still exist (one query): the page links
    their ids to their pages and writes their prices in their currency."""
    if not plan_ids:
        return {}
    rows = db.session.execute(sa.select(Plan.id, Plan.currency).where(Plan.id.in_(plan_ids)))
    return {plan_id: currency for plan_id, currency in rows}


def audit_actors() -> list[str]:
    """Everyone who appears in the trail, for the filter's choices."""
    return list(db.session.scalars(sa.select(AuditLog.actor).distinct().order_by(AuditLog.actor)))
