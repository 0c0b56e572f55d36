"""Make SQLite behave like the database the code is written for.

- Foreign keys are off in SQLite unless switched on per connection.
- pysqlite starts transactions lazily (only before a write), so a read followed by a write is not
  one transaction and DDL is not transactional. Following SQLAlchemy's documented recipe we take
  over BEGIN ourselves; a unit of work that will write can ask for ``BEGIN IMMEDIATE`` with the
  ``sqlite_begin_immediate`` execution option, so two writers queue instead of failing with
  "database is locked" when one upgrades its read lock.
- LOWER() is replaced by one that folds every alphabet (searches are case-insensitive).
- WAL lets the dashboard read while a writer (seed-demo, seed-plans) works; a larger page
  cache keeps a million-row table's indexes in memory.
"""

import contextlib
import os
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 256 * 1024  # SQLite's default page cache is 2 MiB: far too small for a million rows
# A walk that reads each page once (an export) gains nothing from the big cache, which would
# only fill with the table: measured in docs/benchmarks.md, "Exports (issue 16)".
WALK_CACHE_KIB = 8 * 1024


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def make_private_database_file(url) -> None:
    """Create a SQLite database file readable by its owner only (0600) before SQLite does (it
    would use the umask: usually 0644, every local user). SQLite gives its -wal and -shm files
    the database file's permissions. A file that exists and is ours is narrowed to 0600."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if parsed.database.startswith("file:"):
        return  # a URI filename: its options are the operator's
    path = parsed.database
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for existing in (path, f"{path}-wal", f"{path}-shm"):
            if os.path.exists(existing) and os.stat(existing).st_uid == os.getuid():
                os.chmod(existing, 0o600)
    except FileNotFoundError:
        return  # its folder does not exist: SQLite will say so when it connects
    else:
        os.close(fd)


def configure_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    made_private = []

    @event.listens_for(engine, "do_connect")
    def _before_first_connect(_dialect, _record, _cargs, _cparams) -> None:
        # Just before SQLite would create the file (with the umask's permissions).
        if not made_private:
            make_private_database_file(engine.url)
            made_private.append(True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        # SQLite's own LOWER() folds ASCII letters only, so a case-insensitive search for
        # "иван" would miss "Иван". Python's folds every alphabet.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_begin_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def small_cache(connection: Connection, kib: int = WALK_CACHE_KIB) -> Iterator[None]:
    """SQLite's page cache of ``connection`` at ``kib`` for the block, the usual one after (the
    pages beyond it are freed when it shrinks). Nothing on other engines. For the connection a
    request's session holds: no commit or rollback of its own."""
    if connection.dialect.name != "sqlite":
        yield
        return
    usual = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(usual)}")
