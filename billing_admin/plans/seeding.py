"""Writing the standard plans from templates: all or nothing, safe to run twice or at once.

- A plan that does not exist is inserted with ``INSERT ... ON CONFLICT DO NOTHING``, so two runs
  racing (two deploy hooks) cannot crash on a duplicate key; the loser sees the winner's row.
- With ``force``, existing rows are locked (``SELECT ... FOR UPDATE`` on PostgreSQL, a write
  transaction from the start on SQLite) before they are compared and updated.
- Everything happens in one transaction, committed at the end or rolled back on any error.
- A template's new price opens a new price (models/price.py): existing subscribers keep theirs,
  so it needs no confirmation; the report says who keeps what (issue 12).
- A plan the templates cannot restore (a quota an admin raised, while subscriptions are active)
  is ``refused``, and every such plan is listed in one run. By default the run is then all or
  nothing: nothing is written. With ``skip_refused`` the other plans are written.
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
from billing_admin.reporting.counts import (
    PAYING_STATUS,
    active_subscription_counts,
    price_counts,
)

SEED_ACTOR = Actor("flask seed-plans")
REQUIRED_TABLES = ("billing_plan", "billing_subscription", "billing_audit_log")
DAY_SECONDS = 86_400
NO_SCHEMA = "the database has no billing tables: run `flask db upgrade` first"


class SeedError(Exception):
    """A reason to stop seeding, said in one line."""


# The actions of a report line; a run that writes nothing (a dry run, or a refused one) says
# what it would have done.
WOULD = {"created": "would create", "updated": "would update"}
ACTIONS = ("created", "updated", "unchanged", "skipped")


@dataclass(frozen=True)
class SeedOutcome:
    plan_id: str
    action: str  # created, updated, unchanged, skipped or refused
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    note: str = ""  # after a price change: who pays what; for a refusal: why

    def line(self, written: bool = True) -> str:
        label = self.action if written else WOULD.get(self.action, self.action)
        detail = ""
        if self.action == "skipped":
            detail = " (exists; --force overwrites)"
        elif self.action == "refused":
            detail = f": {self.note}"
        elif self.action == "updated":
            detail = ": " + ", ".join(
                f"{name} {format_value(change['old'])} -> {format_value(change['new'])}"
                for name, change in self.changes.items()
            )
            if self.note:
                detail += f" ({self.note})"
        return f"{label.ljust(9)} {self.plan_id}{detail}"


@dataclass(frozen=True)
class SeedReport:
    outcomes: list[SeedOutcome]
    dry_run: bool
    skip_refused: bool = False

    @property
    def refused(self) -> list[SeedOutcome]:
        return [outcome for outcome in self.outcomes if outcome.action == "refused"]

    @property
    def written(self) -> bool:
        """Whether the run wrote its plans: not in a dry run, nor when a refusal stopped it."""
        return not self.dry_run and (self.skip_refused or not self.refused)

    def count(self, action: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action == action)

    def lines(self) -> list[str]:
        return [outcome.line(self.written) for outcome in self.outcomes]

    def summary(self) -> str:
        parts = [
            f"{action if self.written else WOULD.get(action, action)} {self.count(action)}"
            for action in ACTIONS
        ]
        if self.refused:
            parts.append(f"refused {len(self.refused)}")
        return ", ".join(parts)


def seed_plans(
    *,
    include_annual: bool = False,
    include_promo: bool = False,
    force: bool = False,
    dry_run: bool = False,
    skip_refused: bool = False,
) -> SeedReport:
    """Write the templates' plans in one transaction; returns what happened to each.

    Raises PlanValidationError (a template breaks a plan rule) or SeedError (no schema) before
    anything is written. Refused plans (see the module's docstring) are in the report; unless
    ``skip_refused``, a refusal means nothing was written (``SeedReport.written``)."""
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
        report = SeedReport(_seed(templates, force=force, dry_run=dry_run), dry_run, skip_refused)
        if report.written:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    return report


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
        return SeedOutcome(plan.id, "refused", note=str(exc))
    note = _who_keeps_what(plan.id, changes)
    if not dry_run:
        for name in changes:
            setattr(plan, name, desired[name])
        record_plan_change("plan_updated", plan.id, changes, actor=SEED_ACTOR)
        db.session.flush()  # the plan's new price opens a new price row (models/price.py)
    return SeedOutcome(plan.id, "updated", changes, note)


def _who_keeps_what(plan_id: str, changes: dict[str, dict[str, Any]]) -> str:
    """After a price change: "new subscriptions; 299 active keep 1590.00" (issue 12)."""
    if not any(name in changes for name in ("price", "currency", "interval")):
        return ""
    paying: dict[tuple, int] = {}
    for row in price_counts([plan_id]):
        if row.status == PAYING_STATUS:
            key = (row.amount, row.currency, row.interval)
            paying[key] = paying.get(key, 0) + row.count
    active = sum(paying.values())
    if not active:
        return "new subscriptions"
    if len(paying) > 1:
        return f"new subscriptions; {active} active keep the prices they pay"  # 2 or more
    ((amount, currency, interval),) = paying
    kept = format_value(amount)
    if "currency" in changes:
        kept += f" {currency}"
    if "interval" in changes:
        kept += f" a {interval}"
    keep = "keeps" if active == 1 else "keep"
    return f"new subscriptions; {active} active {keep} {kept}"
