"""Backing up the embedded SQLite database.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the database page by page
through SQLite itself, so the copy is one consistent moment of the database even while
workers write: it is copied in a single step inside one read transaction, and in WAL mode
(sqlite.py) that read blocks no writer. A file copy could catch the main file and its WAL at
different moments.

The copy is written to a temporary file beside the target (owner-only, 0600, from the moment
it exists), switched out of WAL mode so it is one self-contained file, then checked:
``PRAGMA integrity_check``, ``PRAGMA foreign_key_check``, the row count of every table, and
the subscriber counts table against the subscriptions themselves. Only a copy that passes is
moved to its name; an existing file is replaced only when asked (``overwrite``), atomically,
so a failed backup never destroys the previous one.

PostgreSQL is backed up with its own tools (pg_dump, continuous archiving): refused here.
"""

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

PG_DUMP_HINT = (
    "flask backup copies SQLite databases only; on PostgreSQL use pg_dump "
    '(pg_dump --format=custom --file=billing.dump "$DATABASE_URL"; see docs/deploy.md)'
)


class BackupError(Exception):
    """Why no backup was written, in one line."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size_bytes: int
    row_counts: dict[str, int]

    def lines(self) -> list[str]:
        rows = ", ".join(f"{table} {count}" for table, count in self.row_counts.items())
        return [
            f"wrote {self.path} ({self.size_bytes} bytes, mode 0600)",
            "integrity ok, foreign keys ok, subscription counts agree with the subscriptions",
            f"rows: {rows}",
        ]


def sqlite_path(database_url: str) -> Path:
    """The database file of a SQLite URL; BackupError for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        raise BackupError(PG_DUMP_HINT)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            f"flask backup copies SQLite databases only, not {url.get_backend_name()}"
        )
    if url.database in (None, "", ":memory:"):
        raise BackupError("the database is in memory: there is no file to back up")
    return Path(url.database)


def backup_sqlite(database_url: str, target: Path, *, overwrite: bool = False) -> BackupReport:
    """Copy the database of ``database_url`` to ``target`` and check the copy (module doc).
    Raises BackupError (nothing written at ``target``) when the target exists and
    ``overwrite`` is false, its folder is missing, or the copy fails a check."""
    source = sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"the database file {source} does not exist")
    target = Path(target)
    if target.is_dir():
        raise BackupError(f"{target} is a folder: give the path of the file to write")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists: choose another path, or pass --force to replace it")
    if target.resolve() == source.resolve():
        raise BackupError("the backup cannot replace the database itself")

    fd, temporary_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    temporary = Path(temporary_name)  # mkstemp creates it 0600
    os.close(fd)
    try:
        _copy(source, temporary)
        row_counts = _check(temporary)
        os.chmod(temporary, 0o600)
        if overwrite:
            os.replace(temporary, target)
        else:
            # A hard link fails if the target appeared meanwhile: never a silent overwrite.
            try:
                os.link(temporary, target)
            except FileExistsError:
                raise BackupError(f"{target} exists: pass --force to replace it") from None
            temporary.unlink()
    except BaseException:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{temporary}{suffix}").unlink()
        raise
    return BackupReport(target, target.stat().st_size, row_counts)


def _copy(source: Path, destination: Path) -> None:
    # Only read from (a read-only open would fail on a WAL database whose -shm is not there).
    with contextlib.closing(sqlite3.connect(source)) as live:
        live.execute("PRAGMA busy_timeout = 30000")
        with contextlib.closing(sqlite3.connect(destination)) as copy:
            live.backup(copy, pages=-1)  # one step: one consistent snapshot
            # One self-contained file: no -wal beside it to lose.
            copy.execute("PRAGMA journal_mode = DELETE")


def _check(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
        integrity = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            raise BackupError(f"the copy failed its integrity check: {'; '.join(integrity[:3])}")
        broken = copy.execute("PRAGMA foreign_key_check").fetchone()
        if broken is not None:
            raise BackupError(f"the copy has a broken foreign key in table {broken[0]}")
        tables = [
            row[0]
            for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = {
            table: copy.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables
        }
        if {"billing_subscription", "billing_plan_subscription_count"} <= set(tables):
            disagree = copy.execute(
                "SELECT count(*) FROM ("
                " SELECT plan_id, status, count(*) AS n FROM billing_subscription"
                " GROUP BY plan_id, status"
                " EXCEPT SELECT plan_id, status, count FROM billing_plan_subscription_count"
                " WHERE count <> 0)"
            ).fetchone()[0]
            stale = copy.execute(
                "SELECT count(*) FROM billing_plan_subscription_count c WHERE count <> ("
                " SELECT count(*) FROM billing_subscription s"
                " WHERE s.plan_id = c.plan_id AND s.status = c.status)"
            ).fetchone()[0]
            if disagree or stale:
                raise BackupError("the copy's subscription counts disagree with its subscriptions")
        return counts
