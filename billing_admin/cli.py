"""Every `flask` command of the app. Each is a thin shell over a service: parse flags, call,
print. Errors are one line on stderr with exit 1; click's usage errors exit 2."""

from flask import Flask

from billing_admin.api.commands import purge_idempotency_keys_command
from billing_admin.audit.commands import audit_commands
from billing_admin.auth.commands import AUTH_COMMANDS
from billing_admin.backup.commands import backup_command
from billing_admin.plans.commands import move_to_current_price_command, seed_plans_command
from billing_admin.subscribers.commands import seed_demo_command


def register_commands(app: Flask) -> None:
    for command in (
        seed_plans_command,
        move_to_current_price_command,
        seed_demo_command,
        audit_commands,
        backup_command,
        purge_idempotency_keys_command,
        *AUTH_COMMANDS,
    ):
        app.cli.add_command(command)
