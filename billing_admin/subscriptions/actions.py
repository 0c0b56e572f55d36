"""What an admin can do to one subscription (issue 13), for the pages and the JSON API alike.

One function an action; each takes the subscription's id, the ``expected_version`` the admin saw,
the ``actor``, and its own inputs, and either

- writes the change, bumps the subscription's ``version``, writes ONE audit entry (entity type
  ``subscription``, ``changes`` = ``{column: {"old": ..., "new": ...}}``, the actor) and commits,
  all in one transaction, returning an ``ActionResult``; or
- raises, having written nothing: ``SubscriptionNotFound`` (unknown id), ``StaleSubscription``
  (the subscription changed since the admin saw it: it carries the current state), or
  ``ActionRefused`` (the action does not apply; a message in the request's language, a stable
  ``code`` for scripts, and the input ``field`` it is about, if any).

``dry_run=True`` checks the same things and returns the same result (what would change) without
writing: the confirmation step of the pages, and a preview for the API.

The subscription counts stay exact by themselves: the database's triggers move a subscription
between (plan, price, status) counters in the transaction that changes it
(models/subscription_count.py).

The rules (docs/subscriptions.md has the reasons; statuses: billing_admin/statuses.py):

- ``change_plan``: to another plan, active unless ``allow_inactive``; the subscription pays the
  new plan's current price from now (its ``billing_price`` row); status, period dates, trial end
  and a scheduled cancellation are kept. Not for a canceled subscription.
- ``cancel_now``: status ``canceled``, ``canceled_at`` now; a scheduled cancellation is cleared
  (it happened). Period dates are kept (they record what was paid for).
- ``cancel_at_period_end`` / ``resume_renewal``: set / clear ``cancel_at_period_end``. Not for a
  canceled subscription; refused when there is nothing to change.
- ``pause`` (``active`` → ``paused``) and ``unpause`` (``paused`` → ``active``). A trial, a
  past-due or a canceled subscription cannot be paused. Period dates are kept.
- ``extend_period``: ``current_period_end`` + N days (N whole, 1–366, ending by 9999-12-31);
  a trialing subscription's trial end moves with it. Not for a canceled subscription.
- ``change_plan`` to a plan without a current price (only a direct write can close its last
  one) is refused; and the pages' confirmation names the price reviewed (``PriceChanged``).

Concurrency: the row is read ``FOR UPDATE`` (PostgreSQL; on SQLite ``start_write()`` makes the
transaction exclusive) before its version is compared, so of two admins acting at once the
second waits, then finds a newer version and gets ``StaleSubscription``. The UPDATE also carries
the version (SQLAlchemy's ``version_id_col``) as a second guard for any other writer.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm.exc import StaleDataError

from billing_admin.audit.service import Actor, record
from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import Plan, Price, Subscription
from billing_admin.transactions import start_write

DAY = 86_400
EXTEND_DAYS_MIN = 1
EXTEND_DAYS_MAX = 366
# The last moment a four-digit year (ISO 8601, Python's datetime) can write: 9999-12-31 23:59:59
# UTC. An extension past it is refused; a page could not show it (zones.py).
MAX_PERIOD_END = 253_402_300_799
ENTITY_TYPE = "subscription"

# The columns an action may change, in the order entries list them.
CHANGED_COLUMNS = (
    "plan_id",
    "price_id",
    "status",
    "cancel_at_period_end",
    "canceled_at",
    "current_period_end",
    "trial_end",
)


@dataclass(frozen=True)
class SubscriptionState:
    """A subscription as stored (times in Unix seconds), detached from the session: what a
    result, a conflict and the API carry."""

    id: str
    user_id: str
    plan_id: str
    price_id: int
    status: str
    current_period_start: int
    current_period_end: int
    cancel_at_period_end: bool
    trial_end: int | None
    canceled_at: int | None
    created_at: int
    updated_at: int
    version: int

    @classmethod
    def of(cls, subscription: Subscription) -> "SubscriptionState":
        return cls(**{name: getattr(subscription, name) for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SubscriptionNotFound(LookupError):
    def __init__(self, subscription_id: str):
        self.subscription_id = subscription_id
        super().__init__(gettext("Subscription '%(id)s' not found", id=subscription_id))


class StaleSubscription(Exception):
    """The subscription changed since the admin saw ``expected_version``; ``subscription`` is
    what is stored now (its ``version`` is the one to act on next)."""

    def __init__(self, subscription: SubscriptionState, expected_version: int):
        self.subscription = subscription
        self.expected_version = expected_version
        super().__init__(
            gettext(
                "This subscription was changed by someone else since you opened it (version "
                "%(yours)s, now %(now)s)",
                yours=expected_version,
                now=subscription.version,
            )
        )


class ActionRefused(ValueError):
    """The action does not apply. ``code``: a stable word for scripts (``canceled``,
    ``same_plan``, ``inactive_plan``, ``unknown_plan``, ``already_canceled``,
    ``already_scheduled``, ``not_scheduled``, ``not_active``, ``not_paused``, ``days_out_of_range``,
    ``invalid_input``); ``field``: the input it is about (``plan_id``, ``allow_inactive``,
    ``days``, ``expected_version``) or None for the subscription as a whole."""

    def __init__(self, code: str, message: str, field: str | None = None):
        self.code = code
        self.field = field
        super().__init__(message)


class PriceChanged(ActionRefused):
    """The new plan's current price is not the one the admin reviewed: it changed in between
    (a confirmation confirms what was shown; found trying to break issue 13)."""

    def __init__(self, plan_id: str):
        super().__init__(
            "price_changed",
            gettext(
                "The price of plan '%(id)s' changed since you reviewed this change. Nothing was "
                "changed: here is the change at the new price, review it again.",
                id=plan_id,
            ),
        )


@dataclass(frozen=True)
class ActionResult:
    """What an action did (or, with ``dry_run``, would do). ``changes``:
    ``{column: {"old": ..., "new": ...}}`` for the changed columns only (times in Unix seconds);
    ``subscription``: the state after it (with ``dry_run``, the state it would have);
    ``audit_entry_id``: the entry written (None with ``dry_run``); ``prices``: the
    ``{"old": ..., "new": ...}`` price paid, each ``{"id", "amount" (a string, two decimals),
    "currency", "interval"}``, when the action changes it (change_plan), else None."""

    action: str
    subscription: SubscriptionState
    changes: dict[str, dict[str, Any]]
    audit_entry_id: int | None
    dry_run: bool
    prices: dict[str, dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"action", "subscription": {...}, "changes", "prices",
        "audit_entry_id", "dry_run"}``."""
        return {
            "action": self.action,
            "subscription": self.subscription.as_dict(),
            "changes": self.changes,
            "prices": self.prices,
            "audit_entry_id": self.audit_entry_id,
            "dry_run": self.dry_run,
        }


# --- Reading -------------------------------------------------------------------------------------


def get_subscription(subscription_id: str) -> Subscription:
    """The subscription, or SubscriptionNotFound."""
    subscription = db.session.get(Subscription, subscription_id) if subscription_id else None
    if subscription is None:
        raise SubscriptionNotFound(subscription_id)
    return subscription


def refusals(subscription: Subscription | SubscriptionState) -> dict[str, ActionRefused | None]:
    """For each action (by its audit name), why it cannot apply to this subscription as it is
    now, whatever the inputs, or None when it may. The pages offer only the ones that may."""
    return {action: check(subscription) for action, check in _STATE_CHECKS.items()}


# --- The actions ---------------------------------------------------------------------------------


def change_plan(
    subscription_id: str,
    plan_id: str,
    *,
    expected_version: int,
    actor: Actor,
    allow_inactive: bool = False,
    expected_price_id: int | None = None,
    dry_run: bool = False,
) -> ActionResult:
    """Move the subscription to ``plan_id`` now, paying that plan's current price; its status,
    period dates, trial end and scheduled cancellation are kept. Audit action
    ``subscription_plan_changed``; changes ``plan_id`` and ``price_id``; the entry's metadata
    holds the old and new prices (amounts as recorded in billing_price). ``expected_price_id``,
    when given, is the new plan's price the admin reviewed (the pages' confirmation): another
    price now is a ``PriceChanged`` refusal.

    Raises SubscriptionNotFound, StaleSubscription, ActionRefused (``canceled``, ``same_plan``;
    with field ``plan_id``: ``unknown_plan``, ``inactive_plan``, ``no_current_price``, a plan
    whose prices were all closed by a direct write), PriceChanged (``price_changed``)."""
    if not isinstance(plan_id, str) or not plan_id.strip():
        raise ActionRefused("invalid_input", gettext("Choose a plan."), "plan_id")
    plan_id = plan_id.strip()

    def decide(subscription: Subscription) -> dict[str, Any]:
        _raise(_refuse_change_plan(subscription))
        if plan_id == subscription.plan_id:
            raise ActionRefused(
                "same_plan", gettext("The subscription is already on this plan."), "plan_id"
            )
        # FOR SHARE: the plan can neither change its price nor be deleted until we commit.
        query = sa.select(Plan).where(Plan.id == plan_id)
        plan = db.session.scalars(
            query if dry_run else query.with_for_update(read=True)
        ).one_or_none()
        if plan is None:
            raise ActionRefused(
                "unknown_plan", gettext("Plan '%(id)s' not found", id=plan_id), "plan_id"
            )
        if not plan.is_active and not allow_inactive:
            raise ActionRefused(
                "inactive_plan",
                gettext(
                    "Plan '%(id)s' is inactive: allow an inactive plan to move the subscription "
                    "to it anyway.",
                    id=plan_id,
                ),
                "plan_id",
            )
        price_id = db.session.scalar(
            sa.select(Price.id).where(Price.plan_id == plan_id, Price.active_until.is_(None))
        )
        if price_id is None:  # the app always keeps one open; a direct write may not
            raise ActionRefused(
                "no_current_price",
                gettext("Plan '%(id)s' has no current price: give it a price first.", id=plan_id),
                "plan_id",
            )
        if expected_price_id is not None and price_id != expected_price_id:
            raise PriceChanged(plan_id)
        return {"plan_id": plan_id, "price_id": price_id}

    return _act(
        "subscription_plan_changed",
        subscription_id,
        expected_version,
        actor,
        dry_run,
        decide,
        extra_metadata={"allow_inactive": True} if allow_inactive else None,
    )


def cancel_now(
    subscription_id: str, *, expected_version: int, actor: Actor, dry_run: bool = False
) -> ActionResult:
    """End the subscription now: status ``canceled``, ``canceled_at`` now (Unix seconds), a
    scheduled cancellation cleared. Audit action ``subscription_canceled``.

    Raises SubscriptionNotFound, StaleSubscription, ActionRefused (``already_canceled``)."""

    def decide(subscription: Subscription) -> dict[str, Any]:
        _raise(_refuse_cancel_now(subscription))
        return {"status": "canceled", "cancel_at_period_end": False, "canceled_at": now_epoch()}

    return _act("subscription_canceled", subscription_id, expected_version, actor, dry_run, decide)


def cancel_at_period_end(
    subscription_id: str, *, expected_version: int, actor: Actor, dry_run: bool = False
) -> ActionResult:
    """Let the subscription run to the end of its current period and not renew
    (``cancel_at_period_end`` true). Audit action ``subscription_cancel_scheduled``.

    Raises SubscriptionNotFound, StaleSubscription, ActionRefused (``canceled``,
    ``already_scheduled``)."""

    def decide(subscription: Subscription) -> dict[str, Any]:
        _raise(_refuse_cancel_at_period_end(subscription))
        return {"cancel_at_period_end": True}

    return _act(
        "subscription_cancel_scheduled", subscription_id, expected_version, actor, dry_run, decide
    )


def resume_renewal(
    subscription_id: str, *, expected_version: int, actor: Actor, dry_run: bool = False
) -> ActionResult:
    """Undo ``cancel_at_period_end``: the subscription renews again. Audit action
    ``subscription_renewal_resumed``.

    Raises SubscriptionNotFound, StaleSubscription, ActionRefused (``canceled``,
    ``not_scheduled``)."""

    def decide(subscription: Subscription) -> dict[str, Any]:
        _raise(_refuse_resume_renewal(subscription))
        return {"cancel_at_period_end": False}

    return _act(
        "subscription_renewal_resumed", subscription_id, expected_version, actor, dry_run, decide
    )


def pause(
    subscription_id: str, *, expected_version: int, actor: Actor, dry_run: bool = False
) -> ActionResult:
    """``active`` → ``paused``; period dates kept. Audit action ``subscription_paused``.

    Raises SubscriptionNotFound, StaleSubscription, ActionRefused (``canceled``, ``not_active``).
    """

    def decide(subscription: Subscription) -> dict[str, Any]:
        _raise(_refuse_pause(subscription))
        return {"status": "paused"}

    return _act("subscription_paused", subscription_id, expected_version, actor, dry_run, decide)


def unpause(
    subscription_id: str, *, expected_version: int, actor: Actor, dry_run: bool = False
) -> ActionResult:
    """``paused`` → ``active`` (the pages call it "resume"); period dates kept: extend the
    period separately to credit the paused days. Audit action ``subscription_unpaused``.

    Raises SubscriptionNotFound, StaleSubscription, ActionRefused (``canceled``, ``not_paused``).
    """

    def decide(subscription: Subscription) -> dict[str, Any]:
        _raise(_refuse_unpause(subscription))
        return {"status": "active"}

    return _act("subscription_unpaused", subscription_id, expected_version, actor, dry_run, decide)


def extend_period(
    subscription_id: str,
    days: int,
    *,
    expected_version: int,
    actor: Actor,
    dry_run: bool = False,
) -> ActionResult:
    """Add ``days`` (a whole number, 1–366) × 86,400 seconds to ``current_period_end``, e.g. as a
    goodwill credit; a trialing subscription's ``trial_end`` (when set) moves by the same days.
    The days are added to the stored end, even one already past. Audit action
    ``subscription_extended``; its metadata holds ``days``.

    Raises SubscriptionNotFound, StaleSubscription, ActionRefused (``days_out_of_range`` with
    field ``days``: outside 1–366, or an end after ``MAX_PERIOD_END``, 9999-12-31 23:59:59 UTC;
    ``canceled``)."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise ActionRefused("invalid_input", _days_message(), "days")
    if not EXTEND_DAYS_MIN <= days <= EXTEND_DAYS_MAX:
        raise ActionRefused("days_out_of_range", _days_message(), "days")

    def decide(subscription: Subscription) -> dict[str, Any]:
        _raise(_refuse_extend(subscription))
        values: dict[str, Any] = {
            "current_period_end": subscription.current_period_end + days * DAY
        }
        if subscription.status == "trialing" and subscription.trial_end is not None:
            values["trial_end"] = subscription.trial_end + days * DAY
        if max(values.values()) > MAX_PERIOD_END:
            raise ActionRefused(
                "days_out_of_range",
                gettext("The period cannot end after 31 December 9999: add fewer days."),
                "days",
            )
        return values

    return _act(
        "subscription_extended",
        subscription_id,
        expected_version,
        actor,
        dry_run,
        decide,
        extra_metadata={"days": days},
    )


def _days_message() -> str:
    return gettext(
        "Enter a whole number of days from %(min)s to %(max)s.",
        min=EXTEND_DAYS_MIN,
        max=EXTEND_DAYS_MAX,
    )


# --- When an action does not apply, whatever its inputs --------------------------------------

Checkable = Subscription | SubscriptionState


def _refuse_change_plan(s: Checkable) -> ActionRefused | None:
    if s.status == "canceled":
        return ActionRefused(
            "canceled",
            gettext("A canceled subscription cannot change plan: it has ended."),
        )
    return None


def _refuse_cancel_now(s: Checkable) -> ActionRefused | None:
    if s.status == "canceled":
        return ActionRefused("already_canceled", gettext("The subscription is already canceled."))
    return None


def _refuse_cancel_at_period_end(s: Checkable) -> ActionRefused | None:
    if s.status == "canceled":
        return ActionRefused("canceled", gettext("The subscription is already canceled."))
    if s.cancel_at_period_end:
        return ActionRefused(
            "already_scheduled",
            gettext("The subscription is already set to cancel at the end of its period."),
        )
    return None


def _refuse_resume_renewal(s: Checkable) -> ActionRefused | None:
    if s.status == "canceled":
        return ActionRefused(
            "canceled", gettext("A canceled subscription cannot be resumed: it has ended.")
        )
    if not s.cancel_at_period_end:
        return ActionRefused(
            "not_scheduled",
            gettext("The subscription is not set to cancel at the end of its period."),
        )
    return None


def _refuse_pause(s: Checkable) -> ActionRefused | None:
    if s.status == "canceled":
        return ActionRefused("canceled", gettext("A canceled subscription cannot be paused."))
    if s.status == "paused":
        return ActionRefused("not_active", gettext("The subscription is already paused."))
    if s.status == "trialing":
        return ActionRefused(
            "not_active",
            gettext("A trial cannot be paused: extend it, or cancel it."),
        )
    if s.status == "past_due":
        return ActionRefused(
            "not_active",
            gettext("A past-due subscription cannot be paused: its payment is still due."),
        )
    return None


def _refuse_unpause(s: Checkable) -> ActionRefused | None:
    if s.status == "canceled":
        return ActionRefused(
            "canceled", gettext("A canceled subscription cannot be resumed: it has ended.")
        )
    if s.status != "paused":
        return ActionRefused("not_paused", gettext("Only a paused subscription can be resumed."))
    return None


def _refuse_extend(s: Checkable) -> ActionRefused | None:
    if s.status == "canceled":
        return ActionRefused(
            "canceled", gettext("A canceled subscription cannot be extended: it has ended.")
        )
    return None


_STATE_CHECKS: dict[str, Callable[[Checkable], ActionRefused | None]] = {
    "subscription_plan_changed": _refuse_change_plan,
    "subscription_canceled": _refuse_cancel_now,
    "subscription_cancel_scheduled": _refuse_cancel_at_period_end,
    "subscription_renewal_resumed": _refuse_resume_renewal,
    "subscription_paused": _refuse_pause,
    "subscription_unpaused": _refuse_unpause,
    "subscription_extended": _refuse_extend,
}


def _raise(refusal: ActionRefused | None) -> None:
    if refusal is not None:
        raise refusal


# --- One action, start to end ------------------------------------------------------------------


def _act(
    action: str,
    subscription_id: str,
    expected_version: int,
    actor: Actor,
    dry_run: bool,
    decide: Callable[[Subscription], dict[str, Any]],
    extra_metadata: dict[str, Any] | None = None,
) -> ActionResult:
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise ActionRefused(
            "invalid_input",
            gettext("The subscription's version is missing: reload the page."),
            "expected_version",
        )
    if not dry_run:
        start_write()
    else:
        db.session.rollback()  # a fresh read
    query = sa.select(Subscription).where(Subscription.id == str(subscription_id))
    if not dry_run:  # a dry run only reads: it locks nothing
        query = query.with_for_update(of=Subscription)
    subscription = db.session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if subscription is None:
        db.session.rollback()
        raise SubscriptionNotFound(subscription_id)
    before = SubscriptionState.of(subscription)
    if before.version != expected_version:
        db.session.rollback()
        raise StaleSubscription(before, expected_version)
    try:
        values = decide(subscription)
    except ActionRefused:
        db.session.rollback()
        raise
    changes = {
        column: {"old": getattr(before, column), "new": values[column]}
        for column in CHANGED_COLUMNS
        if column in values and values[column] != getattr(before, column)
    }
    prices = _prices(changes)
    if dry_run:
        db.session.rollback()
        after = replace(
            before,
            **{column: change["new"] for column, change in changes.items()},
            version=before.version + 1,
        )
        return ActionResult(action, after, changes, None, True, prices)

    for column, change in changes.items():
        setattr(subscription, column, change["new"])
    try:
        db.session.flush()  # the UPDATE carries the version: a change made since matches no row
    except StaleDataError:
        db.session.rollback()
        raise StaleSubscription(
            SubscriptionState.of(get_subscription(subscription_id)), expected_version
        ) from None
    after = SubscriptionState.of(subscription)
    metadata: dict[str, Any] = {
        "version": after.version,
        "user_id": after.user_id,
        "plan_id": after.plan_id,
        **(extra_metadata or {}),
    }
    if prices is not None:
        metadata["prices"] = prices
    entry = record(action, ENTITY_TYPE, after.id, actor=actor, changes=changes, metadata=metadata)
    db.session.flush()  # the entry takes its place in the audit chain (and its id)
    entry_id = entry.id
    db.session.commit()
    return ActionResult(action, after, changes, entry_id, False, prices)


def _prices(changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    change = changes.get("price_id")
    if change is None:
        return None
    rows = {
        price.id: price
        for price in db.session.scalars(
            sa.select(Price).where(Price.id.in_([change["old"], change["new"]]))
        )
    }
    return {side: _price_value(rows[change[side]]) for side in ("old", "new")}


def _price_value(price: Price) -> dict[str, Any]:
    return {
        "id": price.id,
        "amount": f"{price.amount:.2f}",
        "currency": price.currency,
        "interval": price.interval,
    }
