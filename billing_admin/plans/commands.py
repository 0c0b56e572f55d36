"""`flask seed-plans`: a thin shell over plans/seeding.py."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from billing_admin.db_errors import database_errors_in_one_line
from billing_admin.plans.seeding import SeedError, seed_plans
from billing_admin.plans.validation import PlanValidationError


@click.command("seed-plans")
@click.option("--include-annual", is_flag=True, help="Also write the annual plans (20% off).")
@click.option("--include-promo", is_flag=True, help="Also write the promotional plans.")
@click.option("--force", is_flag=True, help="Overwrite existing plans with the templates' values.")
@click.option("--dry-run", is_flag=True, help="Print what would happen; write nothing.")
@with_appcontext
@database_errors_in_one_line
def seed_plans_command(include_annual: bool, include_promo: bool, force: bool, dry_run: bool):
    """Write the standard billing plans from templates, in one transaction."""
    try:
        report = seed_plans(
            include_annual=include_annual,
            include_promo=include_promo,
            force=force,
            dry_run=dry_run,
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
    for outcome in report.outcomes:
        click.echo(outcome.line())
    click.echo(report.summary())
    if dry_run:
        click.echo("dry run: nothing was written")
