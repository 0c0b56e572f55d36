"""Database errors said in one line, for the command line."""

import functools

import click
from sqlalchemy.exc import SQLAlchemyError


def describe_database_error(exc: SQLAlchemyError) -> str:
    """The driver's first line, without SQLAlchemy's statement dump and link (nor the URL)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def database_errors_in_one_line(command):
    """A command whose database fails says so in one line and exits 1, never a traceback.
    (Each command runs in one transaction that is rolled back on error: nothing is written.)"""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SQLAlchemyError as exc:
            raise click.ClickException(
                f"database error, nothing was written: {describe_database_error(exc)}"
            ) from None

    return wrapper
