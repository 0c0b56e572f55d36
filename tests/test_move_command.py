"""`flask move-to-current-price PLAN_ID [--from-price ID] [--dry-run]` (issue 12): the preview
printed first, a dry run that writes nothing, the move with its progress on stderr and its audit
entry, one-line errors (exit 1) and usage errors (exit 2), and continuing an interrupted move.

Data: tests/price_data.py (Starter: A 490 with 8 movable and 2 canceled, B 540 with 4 movable and
1 canceled, C 590 current); MRR now 4 × 490 + 3 × 540 + 590 = 4,170.00, after 8 × 590 = 4,720.00.
"""

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor
from billing_admin.extensions import db
from billing_admin.models import AuditLog, PriceMove, Subscription
from billing_admin.plans import price_moves
from tests.helpers import add_plan, add_subscriptions, make_app
from tests.price_data import Prices, add_three_prices


@pytest.fixture
def prices(app, set_clock) -> Prices:
    return add_three_prices(set_clock)


def move(runner, *args):
    db.session.commit()
    return runner.invoke(args=["move-to-current-price", *args])


def preview_lines(p: Prices) -> list[str]:
    return [
        f"plan starter: move to price {p.c} (590.00 RUB month)",
        f"  from price {p.a} (490.00 RUB month): active 4, trialing 2, past_due 1, paused 1",
        f"  from price {p.b} (540.00 RUB month): active 3, paused 1",
        "  total 12",
        "  MRR RUB 4,170.00 -> 4,720.00",
    ]


def where_they_are(p: Prices) -> dict[int, int]:
    db.session.rollback()
    rows = db.session.execute(
        sa.select(Subscription.price_id, sa.func.count()).group_by(Subscription.price_id)
    ).all()
    db.session.rollback()
    return dict(rows)


def audit_entries() -> list[AuditLog]:
    db.session.rollback()
    entries = list(
        db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "plan_subscriptions_moved"))
    )
    db.session.rollback()
    return entries


def test_a_dry_run_prints_the_preview_and_moves_nothing(runner, prices):
    before = where_they_are(prices)
    result = move(runner, "starter", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [*preview_lines(prices), "dry run: nothing was moved"]
    assert where_they_are(prices) == before == {prices.a: 10, prices.b: 5, prices.c: 2}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PriceMove)) == 0
    assert audit_entries() == []


def test_the_move_prints_the_preview_then_what_moved(runner, prices):
    result = move(runner, "starter")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        *preview_lines(prices),
        f"moved 12 subscriptions to price {prices.c} (590.00 RUB month) "
        "(active 7, trialing 2, past_due 1, paused 2)",
    ]
    assert result.stderr == ""  # off a terminal, no progress bar (and no stray label line)
    assert where_they_are(prices) == {prices.a: 2, prices.b: 1, prices.c: 14}  # canceled stay
    (entry,) = audit_entries()
    assert entry.actor == "flask move-to-current-price"
    assert entry.user_id is None


def test_from_one_price(runner, prices):
    result = move(runner, "starter", "--from-price", str(prices.b))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:4] == [
        f"plan starter: move to price {prices.c} (590.00 RUB month)",
        f"  from price {prices.b} (540.00 RUB month): active 3, paused 1",
        "  total 4",
        "  MRR RUB 4,170.00 -> 4,320.00",
    ]
    assert where_they_are(prices) == {prices.a: 10, prices.b: 1, prices.c: 6}


def test_nothing_to_move_is_not_an_error(runner, app):
    add_plan("pro")
    add_subscriptions("pro", "active")
    result = move(runner, "pro")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "Nothing to move: every subscription of plan 'pro' that is not canceled pays its "
        "current price."
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PriceMove)) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "Error: Plan 'nope' not found"),
        (["starter", "--from-price", "999"], "Error: Price 999 is not a price of plan 'starter'."),
    ],
)
def test_bad_input_is_one_line_and_exit_1(runner, prices, args, message):
    result = move(runner, *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == message + "\n"
    assert where_they_are(prices) == {prices.a: 10, prices.b: 5, prices.c: 2}


def test_the_current_price_as_the_source_is_one_line_and_exit_1(runner, prices):
    result = move(runner, "starter", "--from-price", str(prices.c))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Price {prices.c} is the current price of plan 'starter': its subscriptions pay "
        "it already.\n"
    )


def test_another_plans_price_is_one_line_and_exit_1(runner, prices):
    add_plan("other")
    result = move(runner, "other", "--from-price", str(prices.a))
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert where_they_are(prices)[prices.a] == 10


@pytest.mark.parametrize(
    "args",
    [[], ["starter", "--from-price", "0"], ["starter", "--from-price", "x"], ["starter", "--all"]],
)
def test_usage_errors_exit_2(runner, prices, args):
    result = move(runner, *args)
    assert result.exit_code == 2
    assert "Usage: " in result.stderr
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PriceMove)) == 0


def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/missing-dir/db.sqlite3")
    result = app.test_cli_runner().invoke(args=["move-to-current-price", "starter"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: database error")
    assert len(result.output.splitlines()) == 1


def interrupt_a_move(prices: Prices) -> PriceMove:
    preview = price_moves.preview_move("starter")
    started = price_moves.start_move(
        "starter", from_price_id=None, fingerprint=preview.fingerprint, actor=Actor("someone")
    )

    def stop(size, calls=[]):  # noqa: B006 (a counter for this test)
        calls.append(size)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        price_moves.run_move(started.id, batch_size=3, progress=stop)
    db.session.rollback()
    return db.session.get(PriceMove, started.id)


def test_running_it_again_continues_an_interrupted_move(runner, prices):
    interrupted = interrupt_a_move(prices)
    assert interrupted.moved_total == 6
    result = move(runner, "starter")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"continuing move {interrupted.id} of plan 'starter' started 2027-01-17 08:00 UTC by "
        "someone: 6 of 12 moved",
        f"moved 12 subscriptions to price {prices.c} (590.00 RUB month) "
        "(active 7, trialing 2, past_due 1, paused 2)",
    ]
    assert where_they_are(prices) == {prices.a: 2, prices.b: 1, prices.c: 14}
    (entry,) = audit_entries()
    assert entry.actor == "someone"  # the move's own actor, who started it
    db.session.rollback()
    assert db.session.get(PriceMove, interrupted.id).status == "completed"


def test_a_new_move_from_one_price_while_one_is_unfinished_is_refused(runner, prices):
    interrupted = interrupt_a_move(prices)
    result = move(runner, "starter", "--from-price", str(prices.b))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: move {interrupted.id} of plan 'starter' is not finished: run the command "
        "without --from-price to continue it"
    )
    db.session.rollback()
    assert db.session.get(PriceMove, interrupted.id).moved_total == 6


def test_a_dry_run_during_an_unfinished_move_continues_nothing(runner, prices):
    interrupted = interrupt_a_move(prices)
    result = move(runner, "starter", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "dry run: nothing was moved"
    db.session.rollback()
    assert db.session.get(PriceMove, interrupted.id).moved_total == 6
