"""The plan rules, in one place: every form, action and command goes through here.

Views parse input into a PlanSpec and call these functions; each function validates, applies
the rules, writes one audit entry, and commits, or raises one of the errors below having
written nothing.
"""

from dataclasses import dataclass, replace
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext, ngettext
from slugify import slugify
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from billing_admin.audit.service import Actor, record_plan_change
from billing_admin.extensions import db
from billing_admin.formatting import grouped, money
from billing_admin.models import SUBSCRIPTION_STATUSES, AuditLog, Plan
from billing_admin.plans.errors import PlanNotFound
from billing_admin.plans.pricing import mrr
from billing_admin.plans.rules import check_quota_change
from billing_admin.plans.spec import (
    PLAN_FIELDS,
    PlanSpec,
    creation_changes,
    diff_values,
    plan_values,
    to_json_value,
)
from billing_admin.plans.validation import (
    DISPLAY_ORDER_MAX,
    NAME_MAX,
    PLAN_ID_MAX,
    RESERVED_PLAN_IDS,
    PlanValidationError,
    check_plan,
)
from billing_admin.subscribers.service import subscription_counts
from billing_admin.transactions import start_write

STATUS_FILTERS = ("all", "active", "inactive")

__all__ = ["PlanNotFound"]  # re-exported: views catch service.PlanNotFound


# The errors' messages are in the request's language (English in a command, which has no
# request). Some English ones mirror the original system word for word, "1 subscriptions" too:
# their ngettext has the same English text for one and for many. (Flask-Babel's ngettext
# fills %(num)s with the bare number itself; %(count)s is the number grouped for the language.)


class PlanIdTaken(PlanValidationError):
    def __init__(self, plan_id: str):
        super().__init__(
            plan_id, {"id": [gettext("Plan with ID '%(id)s' already exists", id=plan_id)]}
        )


class StaleEdit(Exception):
    """The plan changed since the form was opened; ``plan`` holds what is stored now."""

    def __init__(self, plan: Plan):
        super().__init__(gettext("This plan was changed by someone else since you opened it"))
        self.plan = plan


class PriceChangeNeedsConfirmation(Exception):
    def __init__(self, active_subscriptions: int, old: Decimal, new: Decimal, currency: str):
        self.active_subscriptions = active_subscriptions
        self.new_price = new
        self.shown_new_price = money(new, currency)
        super().__init__(
            ngettext(
                "The price changes from %(old)s to %(new)s while %(count)s active subscription "
                "uses this plan. The new price applies to new subscriptions only; current "
                "subscribers keep theirs until they change plan.",
                "The price changes from %(old)s to %(new)s while %(count)s active subscriptions "
                "use this plan. The new price applies to new subscriptions only; current "
                "subscribers keep theirs until they change plan.",
                active_subscriptions,
                old=money(old, currency),
                new=self.shown_new_price,
                count=grouped(active_subscriptions),
            )
        )


class PlanInUse(Exception):
    """The plan cannot be deleted: subscriptions still reference it."""


@dataclass(frozen=True)
class PlanSummary:
    plan: Plan
    counts: dict[str, int]
    mrr: Decimal

    @property
    def subscriptions(self) -> int:
        return sum(self.counts.values())


def _summaries(plans: list[Plan]) -> list[PlanSummary]:
    counts = subscription_counts([plan.id for plan in plans])
    empty = dict.fromkeys(SUBSCRIPTION_STATUSES, 0)
    summaries = []
    for plan in plans:
        plan_counts = counts.get(plan.id, empty)
        summaries.append(
            PlanSummary(plan, plan_counts, mrr(plan.price, plan.interval, plan_counts["active"]))
        )
    return summaries


def plan_summaries(status: str = "all") -> list[PlanSummary]:
    """Plans in display order with their subscriber counts and MRR: two queries in all."""
    query = sa.select(Plan).order_by(Plan.display_order, Plan.id)
    if status == "active":
        query = query.where(Plan.is_active.is_(True))
    elif status == "inactive":
        query = query.where(Plan.is_active.is_(False))
    return _summaries(list(db.session.scalars(query)))


def get_plan(plan_id: str) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound(plan_id)
    return plan


def plan_summary(plan_id: str) -> PlanSummary:
    return _summaries([get_plan(plan_id)])[0]


def plan_history(plan_id: str, limit: int = 100) -> list[AuditLog]:
    return list(
        db.session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.entity_type == "plan", AuditLog.entity_id == plan_id)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
    )


def spec_of(plan: Plan) -> PlanSpec:
    values = plan_values(plan)
    return PlanSpec(id=plan.id, **{**values, "features": tuple(values["features"] or ())})


def suggest_plan_id(name: str) -> str:
    return slugify(name, separator="_", max_length=PLAN_ID_MAX, regex_pattern=r"[^a-z0-9_-]+")


def _unused_id(base: str) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever is free (kept within 64 characters)."""
    taken = set(
        db.session.scalars(sa.select(Plan.id).where(Plan.id.like(f"{base[: PLAN_ID_MAX - 8]}%")))
    )
    taken |= RESERVED_PLAN_IDS
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"_{number}"
        candidate = base[: PLAN_ID_MAX - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def create_plan(spec: PlanSpec, actor: Actor) -> Plan:
    """Create a plan; a blank id is made from the name."""
    start_write()
    if not spec.id.strip():
        suggested = suggest_plan_id(spec.name or "")
        if not suggested:
            raise PlanValidationError(
                "", {"id": [gettext("Enter an ID: none can be made from this name.")]}
            )
        spec = replace(spec, id=_unused_id(suggested))
    check_plan(spec)
    if db.session.get(Plan, spec.id) is not None:
        raise PlanIdTaken(spec.id)
    values = spec.values()
    plan = Plan(id=spec.id, **values)
    db.session.add(plan)
    record_plan_change("plan_created", spec.id, creation_changes(values), actor=actor)
    _commit_or_raise(lambda: PlanIdTaken(spec.id))
    return plan


def update_plan(
    plan_id: str,
    spec: PlanSpec,
    *,
    expected_version: int,
    actor: Actor,
    confirmed_price: Decimal | None = None,
) -> dict[str, dict]:
    """Save an edit made on ``expected_version``; returns the changes (empty: nothing to save).

    A new price for a plan with active subscribers needs ``confirmed_price`` equal to it: the
    admin confirmed this price, not whichever price the form holds by then."""
    start_write()
    plan = get_plan(plan_id)
    if plan.version != expected_version:
        raise StaleEdit(plan)
    check_plan(spec, check_id=False)
    new_values = spec.values()
    changes = diff_values(plan_values(plan), new_values)
    if not changes:
        return {}
    active = subscription_counts([plan_id]).get(plan_id, {}).get("active", 0)
    check_quota_change(plan.quotas, new_values["quotas"], active)
    if "price" in changes and active and confirmed_price != spec.price:
        raise PriceChangeNeedsConfirmation(active, plan.price, spec.price, spec.currency)
    for name in changes:
        setattr(plan, name, new_values[name])
    record_plan_change(
        "plan_updated",
        plan_id,
        changes,
        actor=actor,
        metadata={"version": expected_version + 1},
    )
    try:
        db.session.commit()
    except StaleDataError:
        # Someone saved between our read and our write: their save stands, ours is refused.
        db.session.rollback()
        raise StaleEdit(get_plan(plan_id)) from None
    return changes


def set_plan_active(plan_id: str, active: bool, actor: Actor) -> bool:
    """Activate or deactivate; returns False when the plan already was so (nothing written)."""
    start_write()
    plan = get_plan(plan_id)
    if plan.is_active == active:
        return False
    plan.is_active = active
    record_plan_change(
        "plan_activated" if active else "plan_deactivated",
        plan_id,
        {"is_active": {"old": not active, "new": active}},
        actor=actor,
    )
    db.session.commit()
    return True


def duplicate_plan(plan_id: str, actor: Actor) -> Plan:
    """An inactive copy, listed just after the original; metadata is not copied."""
    start_write()
    source = spec_of(get_plan(plan_id))
    copy = replace(
        source,
        id=_unused_id(f"{source.id[: PLAN_ID_MAX - 5]}_copy"),
        name=_fit(f"{source.name} (Copy)"),
        name_ru=_fit(f"{source.name_ru} (Копия)") if source.name_ru else None,
        is_active=False,
        display_order=min(source.display_order + 1, DISPLAY_ORDER_MAX),
        plan_extra_metadata=None,
    )
    check_plan(copy)
    values = copy.values()
    db.session.add(Plan(id=copy.id, **values))
    record_plan_change(
        "plan_duplicated",
        copy.id,
        creation_changes(values),
        actor=actor,
        metadata={"source_plan_id": plan_id},
    )
    _commit_or_raise(lambda: PlanIdTaken(copy.id))
    return get_plan(copy.id)


def _fit(name: str) -> str:
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


def deletion_refusal(plan_id: str) -> str | None:
    """Why the plan cannot be deleted now, or None when it can."""
    counts = subscription_counts([plan_id]).get(plan_id)
    if not counts:
        return None
    if counts["active"]:
        return ngettext(
            "Cannot delete plan with %(count)s active subscriptions. Deactivate the plan instead.",
            "Cannot delete plan with %(count)s active subscriptions. Deactivate the plan instead.",
            counts["active"],
            count=grouped(counts["active"]),
        )
    total = sum(counts.values())
    return ngettext(
        "Cannot delete plan while %(count)s subscriptions (none active) still refer to it: their "
        "history would be lost. Deactivate the plan instead.",
        "Cannot delete plan while %(count)s subscriptions (none active) still refer to it: their "
        "history would be lost. Deactivate the plan instead.",
        total,
        count=grouped(total),
    )


def delete_plan(plan_id: str, actor: Actor) -> None:
    start_write()
    plan = get_plan(plan_id)
    refusal = deletion_refusal(plan_id)
    if refusal:
        raise PlanInUse(refusal)
    old = plan_values(plan)
    db.session.delete(plan)
    record_plan_change(
        "plan_deleted",
        plan_id,
        {name: {"old": to_json_value(old[name]), "new": None} for name in PLAN_FIELDS},
        actor=actor,
    )
    try:
        db.session.commit()
    except IntegrityError:
        # A subscription arrived after we counted; the foreign key kept it from being orphaned.
        db.session.rollback()
        raise PlanInUse(deletion_refusal(plan_id) or gettext("The plan is in use.")) from None


def _commit_or_raise(conflict) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise conflict() from None
