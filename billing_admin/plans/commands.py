"""`flask seed-plans` and `flask move-to-current-price`: thin shells over plans/seeding.py and
plans/price_moves.py."""

from decimal import Decimal

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from billing_admin.audit.service import Actor
from billing_admin.db_errors import database_errors_in_one_line
from billing_admin.formatting import iso_timestamp
from billing_admin.plans import price_moves
from billing_admin.plans.errors import PlanNotFound
from billing_admin.plans.seeding import SeedError, seed_plans
from billing_admin.plans.service import price_token
from billing_admin.plans.validation import PlanValidationError
from billing_admin.progress import progress_bar

REFUSED_EXIT_CODE = 3


@click.command("seed-plans")
@click.option("--include-annual", is_flag=True, help="Also write the annual plans (20% off).")
@click.option("--include-promo", is_flag=True, help="Also write the promotional plans.")
@click.option("--force", is_flag=True, help="Overwrite existing plans with the templates' values.")
@click.option("--dry-run", is_flag=True, help="Print what would happen; write nothing.")
@click.option(
    "--skip-refused",
    is_flag=True,
    help="With --force: write the plans that can be restored even if others are refused.",
)
@with_appcontext
@database_errors_in_one_line
def seed_plans_command(
    include_annual: bool, include_promo: bool, force: bool, dry_run: bool, skip_refused: bool
):
    """Write the standard billing plans from templates, in one transaction.

    Exit 0 when every plan was written as asked; 1 on an error (nothing written); 3 when plans
    were refused (listed; nothing written unless --skip-refused)."""
    try:
        report = seed_plans(
            include_annual=include_annual,
            include_promo=include_promo,
            force=force,
            dry_run=dry_run,
            skip_refused=skip_refused,
        )
    except (SeedError, PlanValidationError) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError:
        raise  # said in one line by database_errors_in_one_line
    except Exception as exc:
        current_app.logger.debug("seed-plans failed", exc_info=True)
        raise click.ClickException(
            f"unexpected error, nothing was written: {type(exc).__name__}: {exc}"
        ) from None
    for line in report.lines():
        click.echo(line)
    click.echo(report.summary())
    if dry_run:
        click.echo("dry run: nothing was written")
    refused = len(report.refused)
    if refused:
        plans = "1 plan" if refused == 1 else f"{refused} plans"
        # A dry run's lines already say what would happen and that nothing was written.
        if skip_refused and not dry_run:
            click.echo(f"Error: {plans} refused, the others written", err=True)
        elif not dry_run:
            click.echo(
                f"Error: {plans} refused: nothing was written (--skip-refused writes the others)",
                err=True,
            )
        raise SystemExit(REFUSED_EXIT_CODE)


@click.command("move-to-current-price")
@click.argument("plan_id")
@click.option(
    "--from-price",
    "from_price_id",
    type=click.IntRange(min=1),
    help="Move only the subscriptions paying this price (its id); default: every older price.",
)
@click.option("--dry-run", is_flag=True, help="Print the preview; move nothing.")
@with_appcontext
@database_errors_in_one_line
def move_to_current_price_command(plan_id: str, from_price_id: int | None, dry_run: bool):
    """Move a plan's subscriptions from older prices to its current price, in batches.

    Prints the preview first. Canceled subscriptions keep the price they paid. A move that was
    interrupted (by a restart, or Ctrl+C) is continued where it stopped."""
    move = price_moves.running_move(plan_id)
    if move is not None and from_price_id is None and not dry_run:
        started = iso_timestamp(move.started_at)
        click.echo(
            f"continuing move {move.id} of plan '{plan_id}' started {started} by {move.actor}: "
            f"{move.moved_total:,} of {move.expected_total:,} moved"
        )
        _run_with_progress(move.id, max(move.expected_total - move.moved_total, 0))
        return
    try:
        preview = price_moves.preview_move(plan_id, from_price_id)
    except (PlanNotFound, price_moves.MoveError) as exc:
        raise click.ClickException(str(exc)) from None
    for line in _preview_lines(preview):
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was moved")
        return
    if not preview.total:
        click.echo(price_moves.nothing_to_move(plan_id))
        return
    try:
        move = price_moves.start_move(
            plan_id, from_price_id=from_price_id, fingerprint=preview.fingerprint, actor=MOVE_ACTOR
        )
    except price_moves.MoveInProgress as exc:
        raise click.ClickException(
            f"move {exc.move.id} of plan '{plan_id}' is not finished: run the command without "
            "--from-price to continue it"
        ) from None
    except price_moves.PreviewChanged:
        raise click.ClickException(
            "the numbers changed while the command started (a subscription changed): run it again"
        ) from None
    _run_with_progress(move.id, preview.total)


MOVE_ACTOR = Actor("flask move-to-current-price")


def _price_text(price) -> str:
    return f"price {price.id} ({price_token(price.amount, price.currency, price.interval)})"


def _preview_lines(preview: price_moves.MovePreview) -> list[str]:
    lines = [f"plan {preview.plan_id}: move to {_price_text(preview.to_price)}"]
    for price in preview.from_prices:
        counts = ", ".join(f"{s} {n:,}" for s, n in preview.counts[price.id].items())
        lines.append(f"  from {_price_text(price)}: {counts}")
    lines.append(f"  total {preview.total:,}")
    for currency, before in preview.mrr_before.items():
        after = preview.mrr_after.get(currency, Decimal(0))
        lines.append(f"  MRR {currency} {before:,.2f} -> {after:,.2f}")
    return lines


def _run_with_progress(move_id: int, length: int) -> None:
    with progress_bar(length, "moving") as bar:
        move = price_moves.run_move(move_id, progress=bar.update)
    by_status = dict.fromkeys(price_moves.MOVED_STATUSES, 0)
    for counts in move.moved.values():
        for status, count in counts.items():
            by_status[status] += count
    detail = ", ".join(f"{s} {n:,}" for s, n in by_status.items() if n)
    click.echo(
        f"moved {move.moved_total:,} subscriptions to {_price_text(move.to_price)}"
        + (f" ({detail})" if detail else "")
    )
