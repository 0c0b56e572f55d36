"""`flask audit verify`: a thin shell over audit/verification.py."""

import click
from flask.cli import AppGroup

from billing_admin.audit.verification import BATCH_SIZE, verify_chain
from billing_admin.db_errors import database_errors_in_one_line

audit_commands = AppGroup("audit", help="The audit trail.")


@audit_commands.command("verify")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=BATCH_SIZE,
    show_default=True,
    help="Entries read at a time (memory use is proportional to it, not to the trail).",
)
@database_errors_in_one_line
def verify_command(batch_size: int):
    """Check the audit trail's hash chain; prints `ok, N entries` or the first broken entry
    (exit 1). Each run is recorded for the audit page."""
    report = verify_chain(batch_size)
    if not report.ok:
        raise click.ClickException(report.line())
    click.echo(report.line())
