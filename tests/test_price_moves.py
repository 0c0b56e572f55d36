"""Moving subscriptions to the current price (issue 12, plans/price_moves.py): the preview and its
numbers by hand, nothing written by it; the move with statuses mixed, in bounded batches, exactly
once, with one audit entry; refusals (numbers changed, a move under way, nothing to move, a price
that is not an older price of the plan); a move re-run after a failure injected half-way; a move
whose subscriptions change under it; two runners of one move at once.

The data (fixture ``three_prices``), plan Starter:
    price A, RUB 490.00 a month (T0–T1): active 4, trialing 2, past_due 1, paused 1, canceled 2
    price B, RUB 540.00 a month (T1–T2): active 3, paused 1, canceled 1
    price C, RUB 590.00 a month (T2–, current): active 1, trialing 1
Moving every older price: A's 8 and B's 4 that are not canceled (12); MRR before
4 × 490 + 3 × 540 + 1 × 590 = 1,960 + 1,620 + 590 = 4,170.00, after (4 + 3 + 1) × 590 = 4,720.00.
"""

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor
from billing_admin.extensions import db
from billing_admin.models import AuditLog, PlanSubscriptionCount, PriceMove, Subscription
from billing_admin.plans import price_moves
from billing_admin.plans.errors import PlanNotFound
from billing_admin.plans.service import plan_summary
from tests.helpers import add_plan, add_subscriptions, change_plan, current_price_id, snapshot
from tests.price_data import T0, T1, T2, Prices, add_three_prices

ACTOR = Actor("admin@example.com")


def subscriptions_by_price() -> dict[tuple[int, str], int]:
    """(price, status) → subscriptions, counted from the rows."""
    db.session.rollback()
    rows = db.session.execute(
        sa.select(Subscription.price_id, Subscription.status, sa.func.count()).group_by(
            Subscription.price_id, Subscription.status
        )
    ).all()
    db.session.rollback()
    return {(price, status): n for price, status, n in rows}


def kept_counts() -> dict[tuple[int, str], int]:
    db.session.rollback()
    rows = db.session.execute(
        sa.select(
            PlanSubscriptionCount.price_id,
            PlanSubscriptionCount.status,
            PlanSubscriptionCount.count,
        ).where(PlanSubscriptionCount.count != 0)
    ).all()
    db.session.rollback()
    return {(price, status): n for price, status, n in rows}


def moved_entries() -> list[AuditLog]:
    db.session.rollback()
    entries = list(
        db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "plan_subscriptions_moved"))
    )
    db.session.rollback()
    return entries


def everything() -> dict:
    """Every row a move could write: plans, audit, prices, subscriptions, moves."""
    state = snapshot()
    state["subscriptions"] = [
        tuple(row)
        for row in db.session.execute(sa.select(Subscription.__table__).order_by(Subscription.id))
    ]
    state["moves"] = [tuple(row) for row in db.session.execute(sa.select(PriceMove.__table__))]
    state["counts"] = kept_counts()
    db.session.rollback()
    return state


@pytest.fixture
def three_prices(app, set_clock) -> Prices:
    return add_three_prices(set_clock)


# --- The preview -----------------------------------------------------------------------------


def test_the_preview_counts_what_would_move_by_price_and_status(three_prices):
    p = three_prices
    preview = price_moves.preview_move("starter")
    assert preview.to_price.id == p.c
    assert [price.id for price in preview.from_prices] == [p.a, p.b]
    assert preview.counts == {
        p.a: {"active": 4, "trialing": 2, "past_due": 1, "paused": 1},  # not the 2 canceled
        p.b: {"active": 3, "paused": 1},
    }
    assert list(preview.counts[p.a]) == ["active", "trialing", "past_due", "paused"]
    assert preview.total == 12
    assert preview.by_status() == {"active": 7, "trialing": 2, "past_due": 1, "paused": 2}
    assert preview.mrr_before == {"RUB": Decimal("4170.00")}
    assert preview.mrr_after == {"RUB": Decimal("4720.00")}


def test_the_preview_from_one_price(three_prices):
    p = three_prices
    preview = price_moves.preview_move("starter", p.b)
    assert preview.counts == {p.b: {"active": 3, "paused": 1}}
    assert preview.total == 4
    assert preview.mrr_after == {"RUB": Decimal("4320.00")}  # 4 × 490 + (3 + 1) × 590


def test_the_preview_writes_nothing(three_prices):
    before = everything()
    price_moves.preview_move("starter")
    price_moves.preview_move("starter", three_prices.a)
    assert everything() == before


def test_the_preview_in_another_currency_shows_both(app):
    add_plan("global", price=Decimal("20.00"), currency="USD")
    add_subscriptions("global", "active", 2)
    change_plan("global", price=Decimal("1990.00"), currency="RUB")
    add_subscriptions("global", "active")
    preview = price_moves.preview_move("global")
    assert preview.mrr_before == {"RUB": Decimal("1990.00"), "USD": Decimal("40.00")}
    assert preview.mrr_after == {"RUB": Decimal("5970.00")}  # 3 × 1,990; no USD left


@pytest.mark.parametrize(
    "price",
    [
        pytest.param(lambda p: p.c, id="the current price"),
        pytest.param(lambda p: 999_999, id="no such price"),
        pytest.param(lambda p: current_price_id("other"), id="another plan's price"),
    ],
)
def test_the_preview_refuses_a_price_that_is_not_an_older_price_of_the_plan(three_prices, price):
    add_plan("other")
    with pytest.raises(price_moves.UnknownPrice):
        price_moves.preview_move("starter", price(three_prices))


def test_the_preview_of_an_unknown_plan(app):
    with pytest.raises(PlanNotFound):
        price_moves.preview_move("nope")


def test_a_plan_with_one_price_has_nothing_to_move(app):
    add_plan("pro")
    add_subscriptions("pro", "active", 2)
    preview = price_moves.preview_move("pro")
    assert (preview.total, preview.counts, preview.from_prices) == (0, {}, ())
    with pytest.raises(price_moves.MoveError, match="Nothing to move"):
        price_moves.start_move(
            "pro", from_price_id=None, fingerprint=preview.fingerprint, actor=ACTOR
        )


# --- The move --------------------------------------------------------------------------------


def start(plan_id="starter", from_price_id=None) -> PriceMove:
    preview = price_moves.preview_move(plan_id, from_price_id)
    return price_moves.start_move(
        plan_id, from_price_id=from_price_id, fingerprint=preview.fingerprint, actor=ACTOR
    )


def test_a_move_with_statuses_mixed_moves_each_once_and_keeps_the_canceled(three_prices):
    p = three_prices
    move = start()
    batches: list[int] = []
    done = price_moves.run_move(move.id, batch_size=3, progress=batches.append)

    assert batches == [3, 3, 2, 3, 1]  # A's 8 then B's 4, never more than 3 at once
    assert done.status == "completed"
    assert subscriptions_by_price() == {
        (p.a, "canceled"): 2,  # the price they paid stays their history
        (p.b, "canceled"): 1,
        (p.c, "active"): 8,  # 4 + 3 + the 1 already there
        (p.c, "trialing"): 3,
        (p.c, "past_due"): 1,
        (p.c, "paused"): 2,
    }
    assert kept_counts() == subscriptions_by_price()
    assert plan_summary("starter").mrr == {"RUB": Decimal("4720.00")}  # the preview's "after"


def test_a_move_is_audited_once_with_its_counts_and_prices(three_prices, set_clock):
    p = three_prices
    set_clock(T2 + 100)
    move = start()
    price_moves.run_move(move.id, batch_size=5)
    (entry,) = moved_entries()
    assert (entry.entity_id, entry.actor) == ("starter", "admin@example.com")
    assert entry.changes == {
        "price": {"old": ["490.00 RUB month", "540.00 RUB month"], "new": "590.00 RUB month"},
        "subscriptions": {
            "old": None,
            "new": {"active": 7, "trialing": 2, "past_due": 1, "paused": 2},
        },
    }
    expected = {
        str(p.a): {"active": 4, "trialing": 2, "past_due": 1, "paused": 1},
        str(p.b): {"active": 3, "paused": 1},
    }
    assert entry.audit_metadata == {
        "move_id": move.id,
        "to_price_id": p.c,
        "from_price_id": None,
        "moved": expected,
        "expected": expected,
        "started_at": T2 + 100,
    }
    db.session.rollback()
    record = db.session.get(PriceMove, move.id)
    assert (record.status, record.moved, record.finished_at) == ("completed", expected, T2 + 100)
    # Running it again does nothing more: still one entry.
    price_moves.run_move(move.id)
    assert len(moved_entries()) == 1


def test_a_move_from_one_price_leaves_the_others(three_prices):
    p = three_prices
    price_moves.run_move(start(from_price_id=p.b).id)
    by_price = subscriptions_by_price()
    assert by_price[(p.a, "active")] == 4  # A untouched
    assert (p.b, "active") not in by_price and by_price[(p.b, "canceled")] == 1
    assert by_price[(p.c, "active")] == 4  # 1 + B's 3
    assert plan_summary("starter").mrr == {"RUB": Decimal("4320.00")}


def test_the_move_goes_to_the_price_current_when_it_started(three_prices):
    p = three_prices
    move = start()
    change_plan("starter", price=Decimal("690.00"))  # while it waits to run
    price_moves.run_move(move.id, batch_size=4)
    assert {price for price, _ in subscriptions_by_price()} == {p.a, p.b, p.c}
    # The newest price is still ahead for those 14: a new preview offers it.
    assert price_moves.preview_move("starter").total == 14


# --- Refusals ----------------------------------------------------------------------------------


def test_the_move_refuses_when_someone_subscribed_since_the_preview(three_prices):
    seen = price_moves.preview_move("starter")
    add_subscriptions("starter", "active")  # pays the current price: MRR before is now 4,760
    before = everything()
    with pytest.raises(price_moves.PreviewChanged) as refused:
        price_moves.start_move(
            "starter", from_price_id=None, fingerprint=seen.fingerprint, actor=ACTOR
        )
    assert refused.value.preview.mrr_before == {"RUB": Decimal("4760.00")}
    assert refused.value.preview.total == 12
    assert everything() == before


def test_the_move_refuses_when_a_subscription_to_move_changed_since_the_preview(three_prices):
    seen = price_moves.preview_move("starter")
    db.session.execute(
        sa.update(Subscription)
        .where(Subscription.price_id == three_prices.a, Subscription.status == "paused")
        .values(status="canceled")
    )
    db.session.commit()
    with pytest.raises(price_moves.PreviewChanged) as refused:
        price_moves.start_move(
            "starter", from_price_id=None, fingerprint=seen.fingerprint, actor=ACTOR
        )
    assert refused.value.preview.total == 11
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PriceMove)) == 0


def test_one_move_of_a_plan_at_a_time(three_prices):
    first = start()
    with pytest.raises(price_moves.MoveInProgress) as refused:
        start(from_price_id=three_prices.a)
    assert refused.value.move.id == first.id
    price_moves.run_move(first.id)
    with pytest.raises(price_moves.MoveError, match="Nothing to move"):
        start()  # done: nothing is left on an older price


def test_a_stale_preview_sent_while_a_move_runs_is_told_the_move_is_under_way(three_prices):
    """The running move is why the numbers changed: saying so beats "numbers changed"."""
    first = start()  # recorded, not yet run: it is running
    with pytest.raises(price_moves.MoveInProgress) as refused:
        price_moves.start_move(
            "starter", from_price_id=None, fingerprint="stale", actor=Actor("other admin")
        )
    assert refused.value.move.id == first.id


def test_a_running_move_is_stale_after_a_minute_without_a_batch(three_prices, set_clock):
    set_clock(T2)
    move = start()
    assert not price_moves.is_stale(move, now=T2 + 60)
    assert price_moves.is_stale(move, now=T2 + 61)
    price_moves.run_move(move.id)
    db.session.rollback()
    assert not price_moves.is_stale(db.session.get(PriceMove, move.id), now=T2 + 3600)


# --- Failures half-way, and runners at once ----------------------------------------------------


class FailingMoveRecord:
    """Fails the ``fail_at``-th write of a move's record (each batch writes it in the same
    transaction as its subscriptions), as a lost connection would: the batch's UPDATE of the
    subscriptions has already reached the database, and must be rolled back with it."""

    def __init__(self, engine, fail_at: int):
        self.engine, self.fail_at, self.writes = engine, fail_at, 0

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("UPDATE billing_price_move"):
            self.writes += 1
            if self.writes == self.fail_at:
                raise sa.exc.OperationalError(
                    statement, parameters, ConnectionResetError("server closed the connection")
                )

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._before)


def assert_move_state_is_consistent(move_id: int, prices: Prices) -> PriceMove:
    """What the record says moved is what is on the target price, and the counts are exact."""
    db.session.rollback()
    record = db.session.get(PriceMove, move_id)
    by_price = subscriptions_by_price()
    moved = sum(sum(counts.values()) for counts in record.moved.values())
    already_there = 2  # the active and the trialing one that paid C before the move
    assert (
        moved == sum(n for (price, _), n in by_price.items() if price == prices.c) - already_there
    )
    assert kept_counts() == by_price
    db.session.rollback()
    return record


def test_a_move_rerun_after_a_failure_half_way_loses_nothing_and_moves_nothing_twice(
    three_prices,
):
    p = three_prices
    move = start()
    with FailingMoveRecord(db.engine, fail_at=3) as fault, pytest.raises(sa.exc.OperationalError):
        price_moves.run_move(move.id, batch_size=3)
    assert fault.writes == 3
    db.session.rollback()
    record = assert_move_state_is_consistent(move.id, p)
    assert record.status == "running"
    assert list(record.moved) == [str(p.a)]
    assert sum(record.moved[str(p.a)].values()) == 6  # the 2 batches before the failed one
    assert moved_entries() == []

    done = price_moves.run_move(move.id, batch_size=3)  # continues where it stopped

    assert done.status == "completed"
    assert (
        done.moved
        == done.expected
        == {
            str(p.a): {"active": 4, "trialing": 2, "past_due": 1, "paused": 1},
            str(p.b): {"active": 3, "paused": 1},
        }
    )
    assert_move_state_is_consistent(move.id, p)
    assert subscriptions_by_price()[(p.c, "active")] == 8
    assert len(moved_entries()) == 1


def test_a_move_interrupted_between_batches_continues(three_prices):
    p = three_prices
    move = start()

    def crash_after_second_batch(size, calls=[]):  # noqa: B006 (a counter for this test)
        calls.append(size)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl+C, a killed worker

    with pytest.raises(KeyboardInterrupt):
        price_moves.run_move(move.id, batch_size=3, progress=crash_after_second_batch)
    record = assert_move_state_is_consistent(move.id, p)
    assert sum(record.moved[str(p.a)].values()) == 6
    assert price_moves.running_move("starter").id == move.id

    done = price_moves.run_move(move.id, batch_size=3)
    assert done.moved == done.expected
    assert len(moved_entries()) == 1


def test_subscriptions_changing_during_a_move(three_prices):
    """Between batches one subscription still on A is canceled (it stays), another changes
    status (it moves in its new status); the record counts what really moved."""
    p = three_prices
    move = start()
    changed: dict[str, str] = {}

    def change_two_after_the_first_batch(size):
        if changed:
            return
        with db.engine.begin() as other:
            # A had 8 to move; the first batch took 4: 4 are still there, whichever they are.
            waiting = other.execute(
                sa.select(Subscription.id, Subscription.status)
                .where(Subscription.price_id == p.a, Subscription.status != "canceled")
                .order_by(Subscription.id)
            ).all()
            assert len(waiting) == 4
            (first, was_first), (second, was_second) = waiting[:2]
            now = "paused" if was_second != "paused" else "active"
            other.execute(
                sa.update(Subscription).where(Subscription.id == first).values(status="canceled")
            )
            other.execute(
                sa.update(Subscription).where(Subscription.id == second).values(status=now)
            )
            changed.update(canceled=was_first, was=was_second, now=now)

    done = price_moves.run_move(move.id, batch_size=4, progress=change_two_after_the_first_batch)
    assert changed
    a_moved = {"active": 4, "trialing": 2, "past_due": 1, "paused": 1}
    a_moved[changed["canceled"]] -= 1  # stayed on A, canceled
    a_moved[changed["was"]] -= 1
    a_moved[changed["now"]] += 1  # moved, in its new status
    assert done.moved == {
        str(p.a): {status: n for status, n in a_moved.items() if n},
        str(p.b): {"active": 3, "paused": 1},
    }
    by_price = subscriptions_by_price()
    assert by_price[(p.a, "canceled")] == 3
    assert sum(n for (price, _), n in by_price.items() if price == p.a) == 3
    assert kept_counts() == by_price
    (entry,) = moved_entries()
    assert sum(entry.changes["subscriptions"]["new"].values()) == 11  # 12 − the one canceled


def test_two_runners_of_one_move_at_once_move_each_subscription_once(app, set_clock):
    """Two workers run the same move (a restart's runner and the old one still alive): each row
    moves once and the tallies add up exactly, with one audit entry."""
    set_clock(T0)
    add_plan("big", price=Decimal("100.00"))
    from tests.subscriber_data import bulk_subscribers

    bulk_subscribers("big", 120, statuses=("active", "trialing", "paused", "canceled"))
    old = current_price_id("big")
    set_clock(T1)
    change_plan("big", price=Decimal("120.00"))
    new = current_price_id("big")
    move_id = start("big").id
    db.session.remove()

    together = threading.Barrier(2, timeout=30)
    results, errors = [], []

    def runner():
        with app.app_context():
            try:
                together.wait()
                results.append(price_moves.run_move(move_id, batch_size=7).moved)
            except Exception as exc:  # re-raised below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    expected = {str(old): {"active": 30, "trialing": 30, "paused": 30}}
    assert results == [expected, expected]
    assert subscriptions_by_price() == {
        (new, "active"): 30,
        (new, "trialing"): 30,
        (new, "paused"): 30,
        (old, "canceled"): 30,
    }
    assert kept_counts() == subscriptions_by_price()
    assert len(moved_entries()) == 1
