"""`flask create-admin`, `bootstrap-admin`, and the API token commands."""

import sys

import click
from flask.cli import with_appcontext

from billing_admin.accounts.service import list_accounts
from billing_admin.auth.service import AdminError, bootstrap_admin, create_or_promote_admin
from billing_admin.auth.tokens import (
    TokenError,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from billing_admin.db_errors import database_errors_in_one_line
from billing_admin.formatting import iso_timestamp
from billing_admin.models import TOKEN_SCOPES


@click.command("create-admin")
@click.option("--email", required=True, help="The account's email (the sign-in name).")
@click.option("--name", help="Display name (default: the part of the email before @).")
@click.option(
    "--role",
    type=click.Choice(["admin", "viewer"]),
    default="admin",
    show_default=True,
    help="admin: everything; viewer: read-only.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input, not a prompt."
)
@with_appcontext
@database_errors_in_one_line
def create_admin_command(email: str, name: str | None, role: str, password_stdin: bool):
    """Create an account, or give an existing user one, with a new password and a role."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not stdin_is_terminal():
        # No terminal to ask on (a script, a pipe, CI): getpass would warn and echo, and a
        # missing answer would say only "Aborted!".
        raise click.ClickException(
            "no terminal to ask for the password on: pipe it in with --password-stdin"
        )
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user, outcome = create_or_promote_admin(email, password, name, role=role)
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{outcome} {role} {user.email}")


def stdin_is_terminal() -> bool:
    """Whether a person can be asked for a password (tests stand in for one here)."""
    return sys.stdin.isatty()


@click.command("list-accounts")
@with_appcontext
@database_errors_in_one_line
def list_accounts_command():
    """Every dashboard account: role, status, second factor and last sign-in."""
    accounts = list_accounts()
    if not accounts:
        click.echo("no accounts")
        return
    rows = [("EMAIL", "ROLE", "STATUS", "SECOND FACTOR", "LAST SIGN-IN")] + [
        (
            row.user.email,
            row.role or "",
            row.status,
            "on" if row.has_second_factor else "off",
            iso_timestamp(row.last_sign_in_at) if row.last_sign_in_at else "never",
        )
        for row in accounts
    ]
    _table(rows)


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@click.command("bootstrap-admin")
@with_appcontext
@database_errors_in_one_line
def bootstrap_admin_command():
    """On a database without any admin, create admin@example.com and print its password once."""
    made = bootstrap_admin()
    if made is None:
        return
    user, password = made
    click.echo("")
    click.echo("  First run: an admin was created. Sign in with")
    click.echo(f"    email:    {user.email}")
    click.echo(f"    password: {password}")
    click.echo("  This password is shown once; you will choose your own at the first sign-in.")
    click.echo("")


@click.command("create-api-token")
@click.option("--name", required=True, help="A unique name saying which script holds it.")
@click.option("--admin", "admin_email", required=True, help="Email of the admin it acts for.")
@click.option(
    "--scope",
    type=click.Choice(TOKEN_SCOPES),
    default="read",
    show_default=True,
    help="read: GET only; write: also create, change and delete (POST, PUT, PATCH, DELETE).",
)
@with_appcontext
@database_errors_in_one_line
def create_api_token_command(name: str, admin_email: str, scope: str):
    """Create an API token and print it once; only its hash is stored."""
    try:
        _, token = create_api_token(name, admin_email, scope)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)
    click.echo("Store it now: it cannot be shown again.", err=True)


@click.command("list-api-tokens")
@with_appcontext
@database_errors_in_one_line
def list_api_tokens_command():
    """Name, owner, scope, created and last used of every token (never the token itself)."""
    tokens = list_api_tokens()
    if not tokens:
        click.echo("no API tokens")
        return
    rows = [("NAME", "OWNER", "SCOPE", "CREATED", "LAST USED", "STATUS")] + [
        (
            t.name,
            t.user.email,
            t.scope,
            iso_timestamp(t.created_at),
            iso_timestamp(t.last_used_at) if t.last_used_at else "never",
            "revoked" if t.revoked_at else "active",
        )
        for t in tokens
    ]
    _table(rows)


@click.command("revoke-api-token")
@click.argument("name")
@with_appcontext
@database_errors_in_one_line
def revoke_api_token_command(name: str):
    """Revoke a token by name; scripts using it get 401 from then on."""
    try:
        revoke_api_token(name)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"revoked {name}")


AUTH_COMMANDS = (
    create_admin_command,
    list_accounts_command,
    bootstrap_admin_command,
    create_api_token_command,
    list_api_tokens_command,
    revoke_api_token_command,
)
