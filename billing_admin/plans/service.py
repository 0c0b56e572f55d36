"""The plan rules, in one place: every form, action and command goes through here.

Views parse input into a PlanSpec and call these functions; each function validates, applies
the rules, writes one audit entry, and commits, or raises one of the errors below having
written nothing.
"""

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext, ngettext
from slugify import slugify
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from billing_admin.audit.service import Actor, record_plan_change
from billing_admin.extensions import db
from billing_admin.formatting import grouped, money, price_per
from billing_admin.models import AuditLog, Plan, Price
from billing_admin.plans.errors import PlanNotFound
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
from billing_admin.reporting.counts import (
    PAYING_STATUS,
    PriceCount,
    by_status,
    price_counts,
    subscription_counts,
)
from billing_admin.reporting.mrr import exact_mrr_by_currency, to_cent
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


PRICE_FIELDS = ("price", "currency", "interval")


def price_token(amount: Decimal, currency: str, interval: str) -> str:
    """What the price-change confirmation carries ("590.00 RUB month"): the admin confirms this
    price, not whichever price the form holds by the time it is sent."""
    return f"{Decimal(amount):.2f} {currency} {interval}"


class PriceChangeNeedsConfirmation(Exception):
    """A new price for a plan that active subscriptions pay. The message tells the truth before
    anything is saved (issue 12): "309 active subscriptions keep RUB 490.00; new subscriptions pay
    RUB 590.00; MRR unchanged today (RUB 151,410.00)"."""

    def __init__(self, summary: "PlanSummary", new: "PlanSpec"):
        self.active_subscriptions = active = summary.counts[PAYING_STATUS]
        self.token = price_token(new.price, new.currency, new.interval)
        # What the active subscriptions pay, by price (two prices of the same amount read as one).
        paying_by_price: dict[tuple[Decimal, str, str], int] = defaultdict(int)
        for row in summary.price_rows:
            if row.status == PAYING_STATUS:
                paying_by_price[(row.amount, row.currency, row.interval)] += row.count
        paying = sorted(paying_by_price.items(), key=lambda item: -item[1])
        # Periods are named only when they differ ("RUB 490.00" beside "RUB 4,704.00 / year").
        with_period = len({interval for (_, _, interval), _ in paying} | {new.interval}) > 1

        def shown(amount: Decimal, currency: str, interval: str) -> str:
            return price_per(amount, currency, interval) if with_period else money(amount, currency)

        self.shown_new_price = shown(new.price, new.currency, new.interval)
        mrr_today = ", ".join(money(amount, currency) for currency, amount in summary.mrr.items())
        if len(paying) == 1:
            price, _ = paying[0]
            message = ngettext(
                "%(count)s active subscription keeps %(price)s; new subscriptions pay %(new)s; "
                "MRR unchanged today (%(mrr)s).",
                "%(count)s active subscriptions keep %(price)s; new subscriptions pay %(new)s; "
                "MRR unchanged today (%(mrr)s).",
                active,
                count=grouped(active),
                price=shown(*price),
                new=self.shown_new_price,
                mrr=mrr_today,
            )
        else:
            prices = ", ".join(
                ngettext(
                    "%(count)s pays %(price)s",
                    "%(count)s pay %(price)s",
                    count,
                    count=grouped(count),
                    price=shown(*price),
                )
                for price, count in paying
            )
            message = ngettext(
                "%(count)s active subscription keeps the price it pays (%(prices)s); new "
                "subscriptions pay %(new)s; MRR unchanged today (%(mrr)s).",
                "%(count)s active subscriptions keep the prices they pay (%(prices)s); new "
                "subscriptions pay %(new)s; MRR unchanged today (%(mrr)s).",
                active,
                count=grouped(active),
                prices=prices,
                new=self.shown_new_price,
                mrr=mrr_today,
            )
        super().__init__(message)


class PlanInUse(Exception):
    """The plan cannot be deleted: subscriptions still reference it."""


@dataclass(frozen=True)
class PlanSummary:
    """A plan with its subscriptions by status (over all its prices) and its MRR per currency
    (to the cent; the plan's own currency first and always present, other currencies where
    subscriptions still pay an older price in them)."""

    plan: Plan
    counts: dict[str, int]
    mrr: dict[str, Decimal]
    price_rows: tuple[PriceCount, ...] = ()

    @property
    def subscriptions(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class PriceSummary:
    """One of a plan's prices with the subscriptions that pay it, by status, and its MRR (in its
    own currency, to the cent) and share of the plan's MRR in that currency (None when that is 0).
    """

    price: Price
    counts: dict[str, int]
    mrr: Decimal
    mrr_share: Decimal | None

    @property
    def subscriptions(self) -> int:
        return sum(self.counts.values())


def _summaries(plans: list[Plan]) -> list[PlanSummary]:
    rows_by_plan: dict[str, list[PriceCount]] = defaultdict(list)
    for row in price_counts([plan.id for plan in plans]):
        rows_by_plan[row.plan_id].append(row)
    summaries = []
    for plan in plans:
        rows = rows_by_plan[plan.id]
        exact = exact_mrr_by_currency(rows)
        mrr = {plan.currency: Decimal("0.00")}
        mrr.update({currency: to_cent(amount) for currency, amount in sorted(exact.items())})
        summaries.append(PlanSummary(plan, by_status(rows), mrr, tuple(rows)))
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


def price_history(plan_id: str) -> list[PriceSummary]:
    """Every price the plan has had, the current one first, then newest to oldest, each with the
    subscriptions that pay it and its share of the plan's MRR: two queries."""
    return price_histories([plan_id])[plan_id]


def price_histories(plan_ids: list[str]) -> dict[str, list[PriceSummary]]:
    """``price_history`` of several plans at once, still two queries."""
    prices = list(
        db.session.scalars(
            sa.select(Price)
            .where(Price.plan_id.in_(plan_ids))
            .order_by(Price.active_until.is_not(None), Price.active_from.desc(), Price.id.desc())
        )
    )
    rows_by_price: dict[int, list[PriceCount]] = defaultdict(list)
    for row in price_counts(plan_ids):
        rows_by_price[row.price_id].append(row)
    exact = {price.id: exact_mrr_by_currency(rows_by_price[price.id]) for price in prices}
    plan_total: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for price in prices:
        plan_total[(price.plan_id, price.currency)] += exact[price.id].get(price.currency, 0)
    histories: dict[str, list[PriceSummary]] = {plan_id: [] for plan_id in plan_ids}
    for price in prices:
        value = exact[price.id].get(price.currency, Decimal(0))
        total = plan_total[(price.plan_id, price.currency)]
        histories[price.plan_id].append(
            PriceSummary(
                price,
                by_status(rows_by_price[price.id]),
                to_cent(value),
                value / total if total else None,
            )
        )
    return histories


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
    expected_version: int | None,
    actor: Actor,
    confirmed_price: str | None = None,
) -> dict[str, dict]:
    """Save an edit made on ``expected_version``; returns the changes (empty: nothing to save).
    ``expected_version=None`` (an API write without If-Match) saves over whatever version is
    stored when the write starts; a save by someone else between that read and the write is
    still refused with StaleEdit.

    A new price (amount, currency or interval) closes the plan's current price and opens a new
    one that new subscriptions pay; existing subscriptions keep theirs (issue 12; the database's
    triggers do it in this transaction, models/price.py). While active subscriptions pay the plan,
    it needs ``confirmed_price`` equal to ``price_token`` of the new price: the admin confirmed
    this price, having been told what it changes (PriceChangeNeedsConfirmation).

    Raises StaleEdit, PlanValidationError, PlanRuleError (quotas), PriceChangeNeedsConfirmation.
    """
    start_write()
    plan = get_plan(plan_id)
    _check_version(plan, expected_version)
    expected_version = plan.version
    check_plan(spec, check_id=False)
    new_values = spec.values()
    changes = diff_values(plan_values(plan), new_values)
    if not changes:
        return {}
    summary = _summaries([plan])[0]
    active = summary.counts[PAYING_STATUS]
    check_quota_change(plan.quotas, new_values["quotas"], active)
    new_price = any(name in changes for name in PRICE_FIELDS)
    if (
        new_price
        and active
        and confirmed_price != price_token(spec.price, spec.currency, spec.interval)
    ):
        raise PriceChangeNeedsConfirmation(summary, spec)
    old_price_id = current_price_id(plan_id) if new_price else None
    for name in changes:
        setattr(plan, name, new_values[name])
    try:
        db.session.flush()  # the UPDATE carries the version: a save made since matches no row
    except StaleDataError:
        # Someone saved between our read and our write: their save stands, ours is refused.
        db.session.rollback()
        raise StaleEdit(get_plan(plan_id)) from None
    metadata: dict = {"version": expected_version + 1}
    if new_price:
        metadata["price_id"] = {"old": old_price_id, "new": current_price_id(plan_id)}
    record_plan_change("plan_updated", plan_id, changes, actor=actor, metadata=metadata)
    db.session.commit()
    return changes


def current_price_id(plan_id: str) -> int | None:
    """The id of the plan's open price, what new subscriptions pay."""
    return db.session.scalar(
        sa.select(Price.id).where(Price.plan_id == plan_id, Price.active_until.is_(None))
    )


def _check_version(plan: Plan, expected_version: int | None) -> None:
    if expected_version is not None and plan.version != expected_version:
        raise StaleEdit(plan)


def _flush_or_stale(plan_id: str) -> None:
    """Flush; an UPDATE or DELETE carrying a version someone else's commit has moved on from
    matches no row (StaleDataError): theirs stands, ours is refused with StaleEdit (or
    PlanNotFound when they deleted the plan)."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleEdit(get_plan(plan_id)) from None


def set_plan_active(
    plan_id: str, active: bool, actor: Actor, *, expected_version: int | None = None
) -> bool:
    """Activate or deactivate; returns False when the plan already was so (nothing written).
    With ``expected_version`` (the API's If-Match), StaleEdit when the plan is at another."""
    start_write()
    plan = get_plan(plan_id)
    _check_version(plan, expected_version)
    if plan.is_active == active:
        return False
    plan.is_active = active
    _flush_or_stale(plan_id)
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


def delete_plan(plan_id: str, actor: Actor, *, expected_version: int | None = None) -> None:
    """Delete a plan no subscription refers to. Raises PlanNotFound, PlanInUse (the refusal
    says why), StaleEdit (``expected_version``, the API's If-Match, is not the stored one)."""
    start_write()
    plan = get_plan(plan_id)
    _check_version(plan, expected_version)
    refusal = deletion_refusal(plan_id)
    if refusal:
        raise PlanInUse(refusal)
    old = plan_values(plan)
    db.session.delete(plan)
    try:
        _flush_or_stale(plan_id)
        record_plan_change(
            "plan_deleted",
            plan_id,
            {name: {"old": to_json_value(old[name]), "new": None} for name in PLAN_FIELDS},
            actor=actor,
        )
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
