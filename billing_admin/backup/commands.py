"""`flask backup PATH`: a thin shell over backup/service.py."""

import sqlite3
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from billing_admin.backup.service import BackupError, backup_sqlite


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists (atomically).")
@with_appcontext
def backup_command(path: Path, force: bool):
    """Copy the SQLite database to PATH while the app serves, check the copy, and print what
    was written. Refuses to replace an existing file unless --force; on PostgreSQL, says to use
    pg_dump."""
    try:
        report = backup_sqlite(current_app.config["SQLALCHEMY_DATABASE_URI"], path, overwrite=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:
        raise click.ClickException(f"backup failed, nothing was written: {exc}") from None
    for line in report.lines():
        click.echo(line)
