"""Moving a plan's subscriptions from older prices to its current price (issue 12).

A new price applies to new subscriptions; moving the existing ones is a separate, deliberate act:

1. ``preview_move`` counts, from the counts table (cheap at any size), the subscriptions that
   would move, by old price and status, and the plan's MRR per currency before and after.
   Nothing is written. Canceled subscriptions never move: the price they paid is their history.
2. ``start_move`` records the move (``billing_price_move``) if the preview is still what the
   admin confirmed (its ``fingerprint``); if someone subscribed or a status changed in between,
   it raises ``PreviewChanged`` with the new preview instead.
3. ``run_move`` moves them in batches of ``BATCH_SIZE``, one transaction a batch, so 500,000
   subscriptions never hold one giant transaction nor keep other writers waiting long. Each
   batch selects the ids of up to BATCH_SIZE subscriptions still on the old price (locking them
   on PostgreSQL), then ``UPDATE ... WHERE id IN (those) AND price_id = old AND status ...
   RETURNING status``: a row moved by anyone else no longer matches, so no row moves twice, and
   each batch adds what it moved to the record in the same transaction. Re-run after a crash, it
   continues where it stopped; the last batch marks the move completed and writes its one audit
   entry (old and new price, counts by status).

The target is the price that was current when the move started: a price change during a long
move does not redirect it half-way. Every page, the API and ``flask move-to-current-price``
go through these functions.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext

from billing_admin.audit.service import Actor, record_plan_change
from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import SUBSCRIPTION_STATUSES, Plan, Price, PriceMove, Subscription
from billing_admin.plans.service import get_plan, price_token
from billing_admin.reporting.counts import PAYING_STATUS, price_counts
from billing_admin.reporting.mrr import monthly_price, to_cent
from billing_admin.transactions import start_write

# Every status but canceled: those still pay, or will again.
MOVED_STATUSES = tuple(status for status in SUBSCRIPTION_STATUSES if status != "canceled")
BATCH_SIZE = 5_000
# A running move whose last batch is older than this has lost its runner (a restart, a crash).
STALE_SECONDS = 60


class MoveError(ValueError):
    """Why a move cannot be previewed or started, in the request's language (English in a
    command)."""


class UnknownPrice(MoveError):
    pass


class PreviewChanged(Exception):
    """The numbers changed since the admin saw them; ``preview`` is the new one."""

    def __init__(self, preview: "MovePreview"):
        super().__init__("the numbers changed since the preview")
        self.preview = preview


class MoveInProgress(Exception):
    def __init__(self, move: PriceMove):
        super().__init__(f"move {move.id} of plan '{move.plan_id}' is still running")
        self.move = move


@dataclass(frozen=True)
class MovePreview:
    """What a move would do: ``counts[price_id][status]`` of the subscriptions that would move
    from each old price (non-zero only), and the plan's MRR per currency before and after (to
    the cent)."""

    plan_id: str
    to_price: Price
    from_prices: tuple[Price, ...]
    counts: dict[int, dict[str, int]]
    mrr_before: dict[str, Decimal]
    mrr_after: dict[str, Decimal]

    @property
    def total(self) -> int:
        return sum(sum(by_status.values()) for by_status in self.counts.values())

    def by_status(self) -> dict[str, int]:
        totals = dict.fromkeys(MOVED_STATUSES, 0)
        for by_status in self.counts.values():
            for status, count in by_status.items():
                totals[status] += count
        return {status: count for status, count in totals.items() if count}

    @property
    def fingerprint(self) -> str:
        """What the admin confirms: the target and every count ("did anything change?")."""
        return json.dumps(
            {
                "to": self.to_price.id,
                "counts": _json_counts(self.counts),
                # Someone subscribing changes no count that moves, but the MRR the admin saw.
                "mrr_before": {c: str(amount) for c, amount in self.mrr_before.items()},
                "mrr_after": {c: str(amount) for c, amount in self.mrr_after.items()},
            },
            sort_keys=True,
        )


def _json_counts(counts: dict[int, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {str(price_id): dict(by_status) for price_id, by_status in counts.items()}


def preview_move(plan_id: str, from_price_id: int | None = None) -> MovePreview:
    """The move of ``plan_id``'s subscriptions (from one older price, or every older one) to its
    current price. Raises PlanNotFound, or UnknownPrice when ``from_price_id`` is not an older
    price of this plan. Three small queries; writes nothing."""
    get_plan(plan_id)
    prices = {
        price.id: price
        for price in db.session.scalars(sa.select(Price).where(Price.plan_id == plan_id))
    }
    to_price = next(price for price in prices.values() if price.is_current)
    if from_price_id is not None:
        if from_price_id not in prices:
            raise UnknownPrice(
                gettext(
                    "Price %(price)s is not a price of plan '%(id)s'.",
                    price=from_price_id,
                    id=plan_id,
                )
            )
        if from_price_id == to_price.id:
            raise UnknownPrice(
                gettext(
                    "Price %(price)s is the current price of plan '%(id)s': its subscriptions "
                    "pay it already.",
                    price=from_price_id,
                    id=plan_id,
                )
            )
    sources = [from_price_id] if from_price_id is not None else sorted(prices)
    sources = [price_id for price_id in sources if price_id != to_price.id]
    rows = price_counts([plan_id])
    counts: dict[int, dict[str, int]] = {}
    for row in sorted(
        rows,
        key=lambda row: (
            MOVED_STATUSES.index(row.status)
            if row.status in MOVED_STATUSES
            else len(MOVED_STATUSES)
        ),
    ):
        if row.price_id in sources and row.status in MOVED_STATUSES:
            counts.setdefault(row.price_id, {})[row.status] = row.count
    before: dict[str, Decimal] = {}
    after: dict[str, Decimal] = {}
    for row in rows:
        if row.status != PAYING_STATUS:
            continue
        value = monthly_price(row.amount, row.interval) * row.count
        before[row.currency] = before.get(row.currency, Decimal(0)) + value
        if row.price_id in counts:  # moves: worth the current price from now on
            row_after, currency = (
                monthly_price(to_price.amount, to_price.interval),
                to_price.currency,
            )
            value = row_after * row.count
        else:
            currency = row.currency
        after[currency] = after.get(currency, Decimal(0)) + value
    for totals in (before, after):
        totals.setdefault(to_price.currency, Decimal(0))
    return MovePreview(
        plan_id=plan_id,
        to_price=to_price,
        from_prices=tuple(prices[price_id] for price_id in sorted(counts)),
        counts=counts,
        mrr_before={currency: to_cent(value) for currency, value in sorted(before.items())},
        mrr_after={currency: to_cent(value) for currency, value in sorted(after.items())},
    )


def nothing_to_move(plan_id: str) -> str:
    return gettext(
        "Nothing to move: every subscription of plan '%(id)s' that is not canceled pays its "
        "current price.",
        id=plan_id,
    )


def running_move(plan_id: str) -> PriceMove | None:
    """The plan's move that has not completed (running, or interrupted), if any."""
    return db.session.scalar(
        sa.select(PriceMove).where(PriceMove.plan_id == plan_id, PriceMove.status == "running")
    )


def is_stale(move: PriceMove, now: int | None = None) -> bool:
    """A running move no batch has advanced for STALE_SECONDS: its runner is gone."""
    now = now_epoch() if now is None else now
    return move.status == "running" and now - move.heartbeat_at > STALE_SECONDS


def start_move(
    plan_id: str, *, from_price_id: int | None, fingerprint: str, actor: Actor
) -> PriceMove:
    """Record a move the admin confirmed; ``run_move`` does it. Raises PreviewChanged when the
    preview's numbers are no longer ``fingerprint``, MoveInProgress when the plan has a move
    not yet completed, MoveError when there is nothing to move, PlanNotFound, UnknownPrice."""
    start_write()
    _lock_plan(plan_id)
    move = running_move(plan_id)
    if move is not None:  # first: a running move is why the numbers keep changing
        db.session.rollback()
        raise MoveInProgress(move)
    preview = preview_move(plan_id, from_price_id)
    if preview.fingerprint != fingerprint:
        db.session.rollback()
        raise PreviewChanged(preview)
    if not preview.total:
        db.session.rollback()
        raise MoveError(nothing_to_move(plan_id))
    move = PriceMove(
        plan_id=plan_id,
        to_price_id=preview.to_price.id,
        from_price_id=from_price_id,
        expected=_json_counts(preview.counts),
        moved={},
        actor=actor.name,
        user_id=actor.user_id,
    )
    db.session.add(move)
    db.session.commit()
    return move


def run_move(
    move_id: int,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> PriceMove:
    """Move the subscriptions of a recorded move, a batch a transaction, until none is left;
    then mark it completed and audit it. Safe to call again after a failure (it continues), and
    while another runner works on it (each row moves once). ``progress`` gets each batch's size.
    Returns the move as it ended."""
    done_up_to: dict[int, str] = {}  # per old price: the last id handled (ids are walked in order)
    while True:
        start_write()
        move = _lock_move(move_id)
        if move.status == "completed":
            db.session.commit()
            return move
        moved = _move_one_batch(move, batch_size, done_up_to)
        if moved:
            db.session.commit()
            if progress is not None:
                progress(moved)
            continue
        _complete(move)
        db.session.commit()
        return move


def _move_one_batch(move: PriceMove, batch_size: int, done_up_to: dict[int, str]) -> int:
    """Move up to ``batch_size`` subscriptions off the first source price that still has some;
    add them to the move's record. Returns how many moved (0: none left anywhere).

    Each old price's subscriptions are walked in id order on the (price_id, id) index, from the
    last id this runner handled: the rows moved by earlier batches are dead index entries on
    PostgreSQL until vacuumed, and starting over each batch would visit them all again."""
    for price_id in _sources(move):
        still_there = sa.and_(
            Subscription.price_id == price_id, Subscription.status.in_(MOVED_STATUSES)
        )
        query = sa.select(Subscription.id).where(still_there)
        if price_id in done_up_to:
            query = query.where(Subscription.id > done_up_to[price_id])
        # The batch's ids first (locked on PostgreSQL, so a concurrent runner waits for them),
        # then the UPDATE by primary key: one statement with the batch as a subquery makes
        # PostgreSQL scan every remaining row of the old price for each batch.
        ids = list(
            db.session.scalars(query.order_by(Subscription.id).limit(batch_size).with_for_update())
        )
        if not ids:
            continue
        done_up_to[price_id] = ids[-1]
        # The conditions again on the UPDATE itself: a row another runner moved (or someone
        # canceled) meanwhile is left alone and not counted twice.
        statement = (
            sa.update(Subscription)
            .where(Subscription.id.in_(ids), still_there)
            .values(
                price_id=move.to_price_id,
                updated_at=now_epoch(),
                # A moved subscription is a changed one: an action opened on it before the
                # move is refused as stale (issue 13's versions).
                version=Subscription.version + 1,
            )
            .returning(Subscription.status)
            .execution_options(synchronize_session=False)
        )
        statuses = list(db.session.scalars(statement))
        if not statuses:
            continue
        tally = dict(move.moved.get(str(price_id), {}))
        for status in statuses:
            tally[status] = tally.get(status, 0) + 1
        move.moved = {**move.moved, str(price_id): tally}
        move.heartbeat_at = now_epoch()
        return len(statuses)
    return 0


def _sources(move: PriceMove) -> list[int]:
    if move.from_price_id is not None:
        return [move.from_price_id]
    return list(
        db.session.scalars(
            sa.select(Price.id)
            .where(Price.plan_id == move.plan_id, Price.id != move.to_price_id)
            .order_by(Price.id)
        )
    )


def _complete(move: PriceMove) -> None:
    now = now_epoch()
    move.status = "completed"
    move.finished_at = move.heartbeat_at = now
    prices = {
        price.id: price
        for price in db.session.scalars(
            sa.select(Price).where(Price.id.in_([move.to_price_id, *map(int, move.moved)]))
        )
    }
    by_status: dict[str, int] = {}
    for counts in move.moved.values():
        for status, count in counts.items():
            by_status[status] = by_status.get(status, 0) + count
    to_price = prices[move.to_price_id]
    record_plan_change(
        "plan_subscriptions_moved",
        move.plan_id,
        {
            "price": {
                "old": [_token(prices[int(price_id)]) for price_id in sorted(move.moved, key=int)],
                "new": _token(to_price),
            },
            "subscriptions": {
                "old": None,
                "new": {s: by_status[s] for s in MOVED_STATUSES if by_status.get(s)},
            },
        },
        actor=Actor(move.actor, move.user_id),
        metadata={
            "move_id": move.id,
            "to_price_id": move.to_price_id,
            "from_price_id": move.from_price_id,
            "moved": move.moved,
            "expected": move.expected,
            "started_at": move.started_at,
        },
    )


def _token(price: Price) -> str:
    return price_token(price.amount, price.currency, price.interval)


def _lock_plan(plan_id: str) -> None:
    """Serialise starting moves of one plan with each other and with price changes (which
    update the plan row). SQLite: start_write() made the transaction exclusive already."""
    get_plan(plan_id)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(Plan.id).where(Plan.id == plan_id).with_for_update())


def _lock_move(move_id: int) -> PriceMove:
    query = sa.select(PriceMove).where(PriceMove.id == move_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=PriceMove)
    move = db.session.scalar(query.execution_options(populate_existing=True))
    if move is None:
        raise MoveError(f"no price move {move_id}")
    return move
