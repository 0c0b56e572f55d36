"""Writing the standard plans from templates: all or nothing, safe to run twice or at once.

- A plan that does not exist is inserted with ``INSERT ... ON CONFLICT DO NOTHING``, so two runs
  racing (two deploy hooks) cannot crash on a duplicate key; the loser sees the winner's row.
- With ``force``, existing rows are locked (``SELECT ... FOR UPDATE`` on PostgreSQL, a write
  transaction from the start on SQLite) before they are compared and updated.
- Everything happens in one transaction, committed at the end or rolled back on any error.
"""

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from billing_admin.audit.service import Actor, record_plan_change
from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import Plan
from billing_admin.plans.rules import PlanRuleError, check_quota_change
from billing_admin.plans.spec import creation_changes, diff_values, format_value, plan_values
from billing_admin.plans.templates import PlanTemplate, plan_templates
from billing_admin.plans.validation import check_plan
from billing_admin.subscribers.service import active_subscription_counts

SEED_ACTOR = Actor("flask seed-plans")
REQUIRED_TABLES = ("billing_plan", "billing_subscription", "billing_audit_log")
DAY_SECONDS = 86_400
NO_SCHEMA = "the database has no billing tables: run `flask db upgrade` first"


class SeedError(Exception):
    """A reason to stop seeding, said in one line."""


@dataclass(frozen=True)
class SeedOutcome:
    plan_id: str
    action: str  # created, updated, unchanged or skipped
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def line(self) -> str:
        detail = ""
        if self.action == "skipped":
            detail = " (exists; --force overwrites)"
        elif self.action == "updated":
            detail = ": " + ", ".join(
                f"{name} {format_value(change['old'])} -> {format_value(change['new'])}"
                for name, change in self.changes.items()
            )
        return f"{self.action:<10}{self.plan_id}{detail}"


@dataclass(frozen=True)
class SeedReport:
    outcomes: list[SeedOutcome]
    dry_run: bool

    def count(self, action: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action == action)

    def summary(self) -> str:
        return ", ".join(
            f"{action} {self.count(action)}"
            for action in ("created", "updated", "unchanged", "skipped")
        )


def seed_plans(
    *,
    include_annual: bool = False,
    include_promo: bool = False,
    force: bool = False,
    dry_run: bool = False,
) -> SeedReport:
    templates = plan_templates(include_annual=include_annual, include_promo=include_promo)
    for template in templates:  # a template that breaks a plan rule stops us before any write
        check_plan(template.spec)
    _require_schema()

    session = db.session()
    if session.in_transaction():
        raise RuntimeError("seed_plans runs its own transaction; commit or roll back first")
    # On SQLite take the write lock up front, so concurrent runs queue instead of failing.
    session.connection(execution_options={"sqlite_begin_immediate": not dry_run})
    try:
        outcomes = _seed(templates, force=force, dry_run=dry_run)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return SeedReport(outcomes, dry_run)


def _require_schema() -> None:
    inspector = sa.inspect(db.engine)
    if not all(inspector.has_table(name) for name in REQUIRED_TABLES):
        raise SeedError(NO_SCHEMA)


def _seed(templates: list[PlanTemplate], *, force: bool, dry_run: bool) -> list[SeedOutcome]:
    now = now_epoch()
    lock = force and not dry_run
    existing = {plan.id: plan for plan in _load_plans([t.spec.id for t in templates], lock=lock)}
    active_counts = active_subscription_counts(existing) if force else {}

    outcomes = []
    for template in templates:
        plan_id = template.spec.id
        plan = existing.get(plan_id)
        if plan is None:
            values = _template_values(template, created_at=now)
            if dry_run or _insert_if_absent(plan_id, values, now):
                if not dry_run:
                    record_plan_change(
                        "plan_created", plan_id, creation_changes(values), actor=SEED_ACTOR
                    )
                outcomes.append(SeedOutcome(plan_id, "created"))
                continue
            # Another run created it after we looked; from here on it is an existing plan.
            plan = _load_plans([plan_id], lock=lock)[0]
            active_counts.update(active_subscription_counts([plan_id]))
        if not force:
            outcomes.append(SeedOutcome(plan_id, "skipped"))
            continue
        outcomes.append(_overwrite(plan, template, active_counts.get(plan_id, 0), dry_run))
    return outcomes


def _load_plans(plan_ids: list[str], *, lock: bool) -> list[Plan]:
    query = sa.select(Plan).where(Plan.id.in_(plan_ids)).order_by(Plan.id)
    if lock:
        query = query.with_for_update()
    return list(db.session.scalars(query))


def _template_values(
    template: PlanTemplate, *, created_at: int, stored_metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The template's column values; a promo's end date is kept once it has been set."""
    values = template.spec.values()
    if template.promo_days is not None:
        promo_ends = (stored_metadata or {}).get(
            "promo_ends", created_at + template.promo_days * DAY_SECONDS
        )
        values["plan_extra_metadata"] = {**values["plan_extra_metadata"], "promo_ends": promo_ends}
    return values


def _insert_if_absent(plan_id: str, values: dict[str, Any], now: int) -> bool:
    dialect = db.session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise SeedError(f"seeding supports SQLite and PostgreSQL, not {dialect}")
    statement = (
        insert(Plan.__table__)
        .values(id=plan_id, created_at=now, updated_at=now, version=1, **values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(Plan.__table__.c.id)
    )
    # RETURNING gives a row only when this statement inserted one; rowcount is not reliable
    # across drivers for INSERT ... ON CONFLICT.
    return db.session.execute(statement).first() is not None


def _overwrite(
    plan: Plan, template: PlanTemplate, active_subscriptions: int, dry_run: bool
) -> SeedOutcome:
    desired = _template_values(
        template, created_at=plan.created_at, stored_metadata=plan.plan_extra_metadata
    )
    changes = diff_values(plan_values(plan), desired)
    if not changes:
        return SeedOutcome(plan.id, "unchanged")
    try:
        check_quota_change(plan.quotas, desired["quotas"], active_subscriptions)
    except PlanRuleError as exc:
        raise SeedError(f"plan '{plan.id}': {exc}") from exc
    if not dry_run:
        for name in changes:
            setattr(plan, name, desired[name])
        record_plan_change("plan_updated", plan.id, changes, actor=SEED_ACTOR)
        db.session.flush()
    return SeedOutcome(plan.id, "updated", changes)
