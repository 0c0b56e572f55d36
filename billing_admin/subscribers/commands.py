"""`flask seed-demo`: a thin shell over subscribers/demo.py."""

import click
from flask.cli import with_appcontext

from billing_admin.db_errors import database_errors_in_one_line
from billing_admin.progress import progress_bar
from billing_admin.subscribers.demo import MAX_SUBSCRIPTIONS, DemoError, seed_demo


@click.command("seed-demo")
@click.option(
    "--subscriptions",
    "count",
    required=True,
    type=click.IntRange(1, MAX_SUBSCRIPTIONS),
    help="How many demo subscriptions (and users) to add.",
)
@click.option("--random-seed", type=int, help="Make the same data every time.")
@click.option("--if-empty", is_flag=True, help="Do nothing if there are subscriptions already.")
@with_appcontext
@database_errors_in_one_line
def seed_demo_command(count: int, random_seed: int | None, if_empty: bool):
    """Add demo users and subscriptions spread over the plans, statuses and dates."""
    try:
        with progress_bar(count, "subscriptions") as bar:
            report = seed_demo(
                count, random_seed=random_seed, if_empty=if_empty, progress=bar.update
            )
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    if report.skipped:
        click.echo("there are subscriptions already: no demo data added (--if-empty)")
    else:
        click.echo(f"added {report.users:,} demo users and {report.subscriptions:,} subscriptions")
