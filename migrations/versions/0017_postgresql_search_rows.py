"""PostgreSQL searches a table of normalised emails and names, as SQLite does (issue 13).

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-30

Migration 0012 indexed ``translate(email, ...)`` and ``translate(name, ...)`` on ``"user"``
itself. Every row a search looks at (a trigram index's candidates are always rechecked, and a
broad query walks many) computed ``translate`` again, ~3.5 µs a row: a 3-letter fragment
shared by a third of a million users took 0.3–0.9 s (docs/benchmarks.md, issue 13). Now:

- ``billing_user_search`` (``user_id`` primary key, normalised ``email`` and ``name``,
  ``COLLATE "C"``), filled from the users already there and kept exact by the trigger
  function ``billing_user_search_sync`` on ``"user"`` (insert, delete, update of id, email
  or name), in the same transaction as the change;
- on it: a UNIQUE b-tree on ``email``, a b-tree on ``name``, and GIN ``gin_trgm_ops`` on both
  when ``pg_trgm`` is installed (0012 created it where it could; if it is absent the migration
  says so and search scans);
- 0012's four expression indexes on ``"user"`` are dropped.

Writes to ``"user"`` wait while the table is filled (about 20 s for a million users,
docs/benchmarks.md); reads wait only for the last moment, when 0012's indexes are dropped.
SQLite already works this way (0012): nothing changes there. Downgrade restores 0012's indexes
and drops the table, its trigger and function. A frozen copy of billing_admin/models/
user_search.py's PostgreSQL DDL as of this revision.
"""

import logging
import sys

from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

_UPPER = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    + "".join(chr(c) for c in range(0x0410, 0x0430))  # А–Я
    + "".join(chr(c) for c in range(0x0400, 0x0410))  # Ѐ–Џ (Ё among them)
)
_LOWER = (
    "abcdefghijklmnopqrstuvwxyz"
    + "".join(chr(c) for c in range(0x0430, 0x0450))
    + "".join(chr(c) for c in range(0x0450, 0x0460))
)
FOLD_FROM = _UPPER + "ё"
FOLD_TO = _LOWER.replace("ё", "е") + "е"
TABLE = "billing_user_search"
SYNC = f"{TABLE}_sync"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _normalised(column: str) -> str:
    return f"translate({column}, {_quote(FOLD_FROM)}, {_quote(FOLD_TO)})"


def _row(row: str) -> str:
    return f"{_normalised(f'{row}.email')}, {_normalised(f'{row}.name')}"


def _trigram_schema(connection) -> str | None:
    schema = connection.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar()
    if schema is None:
        text = (
            "pg_trgm is not installed: substring search on users will scan the table instead "
            "of using trigram indexes. Install it (CREATE EXTENSION pg_trgm WITH SCHEMA public, "
            "as a superuser), then undo this migration and run it again to add the indexes."
        )
        logger.warning(text)
        print(f"WARNING: {text}", file=sys.stderr)
    return schema.strip('"') if schema else None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE TABLE {TABLE} (
            user_id VARCHAR(36) PRIMARY KEY,
            email TEXT COLLATE "C" NOT NULL,
            name TEXT COLLATE "C" NOT NULL
        )
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION {SYNC}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO {TABLE} (user_id, email, name) VALUES (NEW.id, {_row("NEW")});
            ELSIF TG_OP = 'UPDATE' THEN
                UPDATE {TABLE} SET (user_id, email, name) = (NEW.id, {_row("NEW")})
                WHERE user_id = OLD.id;
            ELSE
                DELETE FROM {TABLE} WHERE user_id = OLD.id;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER {SYNC} AFTER INSERT OR DELETE OR UPDATE OF id, email, name
        ON "user" FOR EACH ROW EXECUTE FUNCTION {SYNC}()
        """
    )
    # The trigger first: from here to the commit, writes to "user" wait (its lock), so the fill
    # misses none; reads go on until the old indexes are dropped, at the very end.
    op.execute(f'INSERT INTO {TABLE} (user_id, email, name) SELECT u.id, {_row("u")} FROM "user" u')
    op.execute(f"CREATE UNIQUE INDEX ux_{TABLE}_email ON {TABLE} (email)")
    op.execute(f"CREATE INDEX ix_{TABLE}_name ON {TABLE} (name)")
    schema = _trigram_schema(connection)
    if schema is not None:
        ops = f'"{schema}".gin_trgm_ops'
        op.execute(f"CREATE INDEX ix_{TABLE}_email_trgm ON {TABLE} USING gin (email {ops})")
        op.execute(f"CREATE INDEX ix_{TABLE}_name_trgm ON {TABLE} USING gin (name {ops})")
    op.execute(f"ANALYZE {TABLE}")
    for index in (
        "ix_user_name_trgm",
        "ix_user_email_trgm",
        "ix_user_name_normalised",
        "ux_user_email_normalised",
    ):
        op.execute(f"DROP INDEX IF EXISTS {index}")


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    op.execute(f'DROP TRIGGER IF EXISTS {SYNC} ON "user"')
    op.execute(f"DROP FUNCTION IF EXISTS {SYNC}()")
    op.execute(f"DROP TABLE IF EXISTS {TABLE}")
    email, name = _normalised("email"), _normalised("name")
    op.execute(f'CREATE UNIQUE INDEX ux_user_email_normalised ON "user" (({email} COLLATE "C"))')
    op.execute(f'CREATE INDEX ix_user_name_normalised ON "user" (({name} COLLATE "C"))')
    schema = _trigram_schema(connection)
    if schema is not None:
        ops = f'"{schema}".gin_trgm_ops'
        op.execute(f'CREATE INDEX ix_user_email_trgm ON "user" USING gin (({email}) {ops})')
        op.execute(f'CREATE INDEX ix_user_name_trgm ON "user" USING gin (({name}) {ops})')
