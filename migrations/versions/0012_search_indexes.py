"""Search by email or name served by indexes; indexes to sort subscriptions (issue 13).

Revision ID: 0012
Revises: 0014
Create Date: 2026-11-30

- PostgreSQL: ``pg_trgm`` (created WITH SCHEMA public if absent; when it cannot be created the
  migration says so and goes on without the two trigram indexes: search then scans), unique
  b-tree on the normalised email, b-tree on the normalised name, GIN trigram indexes on both.
- SQLite: ``billing_user_search`` (normalised email and name per user, unique email) and the
  FTS5 ``trigram`` table over it, filled from the users already there, kept by triggers on
  ``"user"``.
- ``billing_subscription``: indexes to sort by created date and by end of the current period,
  both directions, per plan (and status) and across plans; ``(created_at, id)`` replaces the
  index on ``created_at`` alone.

A frozen copy of billing_admin/models/user_search.py as of this revision. Refused, with the
emails named, when two users' emails are equal once normalised (case, ё/е): the unique index
could not be built. Downgrade removes all of it; the extension stays (it is the database's).
"""

import logging
import sys

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0014"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")


def _warn(message, *args) -> None:
    text = message % args
    logger.warning(text)
    print(f"WARNING: {text}", file=sys.stderr)


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
# Ё → е and ё → е (not ё): "елкин" finds "Ёлкин".
FOLD_FROM = _UPPER + "ё"
FOLD_TO = _LOWER.replace("ё", "е") + "е"

USERS_TABLE = "billing_user_search"
FTS_TABLE = "billing_user_search_fts"
SQLITE_TABLES = (
    USERS_TABLE,
    FTS_TABLE,
    *(f"{FTS_TABLE}_{part}" for part in ("data", "idx", "content", "docsize", "config")),
)
POSTGRESQL_INDEXES = (
    "ux_user_email_normalised",
    "ix_user_name_normalised",
    "ix_user_email_trgm",
    "ix_user_name_trgm",
)
TRIGRAM_INDEXES = POSTGRESQL_INDEXES[2:]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def postgresql_normalised(column: str) -> str:
    """SQL for the normalised ``column`` on PostgreSQL (IMMUTABLE: usable in an index)."""
    return f"translate({column}, {_quote(FOLD_FROM)}, {_quote(FOLD_TO)})"


def _replaced(sql: str, pairs) -> str:
    for upper, lower in pairs:
        sql = f"replace({sql}, '{upper}', '{lower}')"
    return sql


def sqlite_normalising_select(source: str, kept: dict[str, str], folded: dict[str, str]) -> str:
    """``SELECT`` the ``kept`` expressions as they are and the ``folded`` ones normalised, each
    as its key, ``FROM source`` (empty: no FROM). SQLite has no ``translate`` and its ``lower``
    folds ASCII only unless an app replaces it, so it is nested ``replace``, 25 deep a level
    (its parser stack overflows at ~35, less inside a statement)."""
    pairs = list(zip(FOLD_FROM, FOLD_TO, strict=True))
    chunks = [pairs[i : i + 15] for i in range(0, len(pairs), 15)]
    sql = ""
    for level, chunk in enumerate(chunks):
        expressions = {**kept, **folded} if level == 0 else {alias: alias for alias in kept}
        if level:
            expressions.update({alias: alias for alias in folded})
        parts = [
            f"{_replaced(expr, chunk) if alias in folded else expr} AS {alias}"
            for alias, expr in expressions.items()
        ]
        select = "SELECT " + ", ".join(parts)
        if level == 0:
            sql = select + (f" FROM {source}" if source else "")
        else:
            sql = f"{select} FROM ({sql})"
    return sql


_EMAIL_AND_NAME = {"email": "email", "name": "name"}
_NEW_USER_NORMALISED = sqlite_normalising_select(
    "", {"user_id": "NEW.id"}, {"email": "NEW.email", "name": "NEW.name"}
)

SQLITE_DDL = (
    f"""
    CREATE TABLE {USERS_TABLE} (
        id INTEGER PRIMARY KEY,
        user_id VARCHAR(36) NOT NULL,
        email TEXT NOT NULL,
        name TEXT NOT NULL
    )
    """,
    f"CREATE UNIQUE INDEX ux_{USERS_TABLE}_user ON {USERS_TABLE} (user_id)",
    f"""
    INSERT INTO {USERS_TABLE} (user_id, email, name)
    {sqlite_normalising_select('"user"', {"user_id": "id"}, _EMAIL_AND_NAME)}
    """,
    f"CREATE UNIQUE INDEX ux_{USERS_TABLE}_email ON {USERS_TABLE} (email)",
    f"CREATE INDEX ix_{USERS_TABLE}_name ON {USERS_TABLE} (name)",
    f"""
    CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
        email, name, content='{USERS_TABLE}', content_rowid='id',
        tokenize='trigram case_sensitive 1'
    )
    """,
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')",
    f"""
    CREATE TRIGGER {USERS_TABLE}_fts_insert AFTER INSERT ON {USERS_TABLE}
    BEGIN
        INSERT INTO {FTS_TABLE} (rowid, email, name) VALUES (NEW.id, NEW.email, NEW.name);
    END
    """,
    f"""
    CREATE TRIGGER {USERS_TABLE}_fts_delete AFTER DELETE ON {USERS_TABLE}
    BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, email, name)
        VALUES ('delete', OLD.id, OLD.email, OLD.name);
    END
    """,
    f"""
    CREATE TRIGGER {USERS_TABLE}_fts_update AFTER UPDATE ON {USERS_TABLE}
    BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, email, name)
        VALUES ('delete', OLD.id, OLD.email, OLD.name);
        INSERT INTO {FTS_TABLE} (rowid, email, name) VALUES (NEW.id, NEW.email, NEW.name);
    END
    """,
    f"""
    CREATE TRIGGER user_search_insert AFTER INSERT ON "user"
    BEGIN
        INSERT INTO {USERS_TABLE} (user_id, email, name)
        {_NEW_USER_NORMALISED};
    END
    """,
    f"""
    CREATE TRIGGER user_search_update AFTER UPDATE OF id, email, name ON "user"
    BEGIN
        UPDATE {USERS_TABLE} SET (user_id, email, name) = (
            {_NEW_USER_NORMALISED}
        )
        WHERE user_id = OLD.id;
    END
    """,
    f"""
    CREATE TRIGGER user_search_delete AFTER DELETE ON "user"
    BEGIN
        DELETE FROM {USERS_TABLE} WHERE user_id = OLD.id;
    END
    """,
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS user_search_insert",
    "DROP TRIGGER IF EXISTS user_search_update",
    "DROP TRIGGER IF EXISTS user_search_delete",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
    f"DROP TABLE IF EXISTS {USERS_TABLE}",  # its triggers and indexes go with it
)


def postgresql_ddl(trigram_schema: str | None) -> tuple[str, ...]:
    """The indexes on PostgreSQL; the trigram ones only when ``pg_trgm`` is installed (in
    ``trigram_schema``)."""
    email, name = postgresql_normalised("email"), postgresql_normalised("name")
    statements = [
        f'CREATE UNIQUE INDEX ux_user_email_normalised ON "user" (({email} COLLATE "C"))',
        f'CREATE INDEX ix_user_name_normalised ON "user" (({name} COLLATE "C"))',
    ]
    if trigram_schema is not None:
        ops = f'"{trigram_schema}".gin_trgm_ops'
        statements += [
            f'CREATE INDEX ix_user_email_trgm ON "user" USING gin (({email}) {ops})',
            f'CREATE INDEX ix_user_name_trgm ON "user" USING gin (({name}) {ops})',
        ]
    return tuple(statements)


POSTGRESQL_DROP = tuple(f"DROP INDEX IF EXISTS {index}" for index in POSTGRESQL_INDEXES)


def ensure_trigram_extension(connection) -> str | None:
    """The schema ``pg_trgm`` is installed in, creating it in ``public`` if absent; None (and a
    clear message in the log) when it cannot be created. Runs in a savepoint, so a refusal
    leaves the surrounding transaction usable."""
    schema = connection.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar()
    if schema is not None:
        return schema.strip('"')
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    except sa.exc.DBAPIError as error:
        message = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        _warn(
            "pg_trgm could not be created (%s): substring search on users will scan the table "
            "instead of using trigram indexes. Install it (CREATE EXTENSION pg_trgm WITH SCHEMA "
            "public, as a superuser) and run the migration again to add the indexes.",
            message,
        )
        return None
    return "public"


def install(connection) -> None:
    """Create the search tables/indexes (and fill them from the users already there)."""
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DDL:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        for statement in postgresql_ddl(ensure_trigram_extension(connection)):
            connection.exec_driver_sql(statement)


def uninstall(connection) -> None:
    """Remove them again (the extension stays: it is the database's, others may use it)."""
    statements = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}.get(
        connection.dialect.name, ()
    )
    for statement in statements:
        connection.exec_driver_sql(statement)


SUBSCRIPTION_INDEXES = (
    ("ix_billing_subscription_plan_period_end", ["plan_id", "current_period_end", "id"]),
    (
        "ix_billing_subscription_plan_status_period_end",
        ["plan_id", "status", "current_period_end", "id"],
    ),
    ("ix_billing_subscription_period_end", ["current_period_end", "id"]),
    ("ix_billing_subscription_created", ["created_at", "id"]),
    ("ix_billing_subscription_status_created", ["status", "created_at", "id"]),
    ("ix_billing_subscription_status_period_end", ["status", "current_period_end", "id"]),
)


def refuse_duplicate_emails(connection) -> None:
    if connection.dialect.name == "sqlite":
        normalised = sqlite_normalising_select('"user"', {}, {"e": "email"})
    else:
        normalised = f'SELECT {postgresql_normalised("email")} AS e FROM "user"'
    duplicates = connection.exec_driver_sql(
        f"SELECT e, count(*) FROM ({normalised}) AS u "
        "GROUP BY e HAVING count(*) > 1 ORDER BY e LIMIT 5"
    ).all()
    if duplicates:
        listed = ", ".join(f"{email} ({count} users)" for email, count in duplicates)
        raise RuntimeError(
            "Migration 0012 needs every user's email to be unique ignoring case and ё/е, and "
            f"these are not: {listed}. Change or merge those users, then run it again."
        )


def upgrade() -> None:
    connection = op.get_bind()
    refuse_duplicate_emails(connection)
    for name, columns in SUBSCRIPTION_INDEXES:
        op.create_index(name, "billing_subscription", columns)
    op.drop_index("ix_billing_subscription_created_at", table_name="billing_subscription")
    install(connection)


def downgrade() -> None:
    uninstall(op.get_bind())
    op.create_index("ix_billing_subscription_created_at", "billing_subscription", ["created_at"])
    for name, _ in reversed(SUBSCRIPTION_INDEXES):
        op.drop_index(name, table_name="billing_subscription")
