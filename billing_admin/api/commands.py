"""`flask purge-idempotency-keys`: delete the Idempotency-Keys whose 24 hours are over."""

import click
from flask.cli import with_appcontext

from billing_admin.api.idempotency import purge_expired_keys
from billing_admin.db_errors import database_errors_in_one_line


@click.command("purge-idempotency-keys")
@with_appcontext
@database_errors_in_one_line
def purge_idempotency_keys_command():
    """Delete expired Idempotency-Keys (run it daily, e.g. from cron)."""
    click.echo(f"purged {purge_expired_keys()} expired idempotency keys")
