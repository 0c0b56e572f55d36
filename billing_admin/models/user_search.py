"""The indexes that find a user by email or name (issue 13), kept by the database itself.

Search matches *normalised* text: Latin A–Z, the accented Latin capitals of Latin-1 and Latin
Extended-A (É, Ü, Ł, ...), Cyrillic А–Я (with Ѐ–Џ) and Ґ lower-cased, and ``ё`` / ``Ё`` read
as ``е``; every other character stays as it is (``%``, ``_``, ``\\``, quotes are
ordinary characters). ``normalise`` is the rule in Python; ``postgresql_normalised`` and
``sqlite_normalising_select`` are the same rule in SQL, written with ``translate`` / ``replace``
only, so the database computes it identically whoever writes the row (this app, the platform,
psql or the sqlite3 shell: no app-registered function is involved).

PostgreSQL (since migration 0017; 0012 had expression indexes on ``"user"``, whose every
recheck computed ``translate`` again, ~3.5 µs a row: a broad search took 0.3–0.9 s):

- ``billing_user_search``: one row per user (``user_id`` its primary key) with its normalised
  ``email`` and ``name`` (``COLLATE "C"``: code point order, so b-tree ranges serve prefixes).
- ``ux_billing_user_search_email``: UNIQUE b-tree on ``email`` (exact-email look-ups, prefixes);
  ``ix_billing_user_search_name``: b-tree on ``name`` (prefixes).
- ``ix_billing_user_search_email_trgm``, ``ix_billing_user_search_name_trgm``: GIN
  ``gin_trgm_ops`` (``pg_trgm``), serving ``LIKE '%fragment%'``. The extension is created in
  schema ``public`` (or wherever it already is) and its operator class is named with that
  schema, so a schema that holds our tables can be dropped without taking the extension with
  it. Without ``pg_trgm`` these two are absent and substring search scans (the app logs a
  warning).
- ``billing_user_search_sync()``, a trigger function run after each insert, delete, and update
  of ``id``, ``email`` or ``name`` on ``"user"``, keeps the rows exact in the same transaction.

SQLite:

- ``billing_user_search``: one row per user (``user_id``) with its normalised ``email`` and
  ``name``; its integer ``id`` is the full-text index's rowid (the user table's own rowid is not
  stable across VACUUM, a text primary key does not alias it). UNIQUE index on ``email``, index
  on ``name``.
- ``billing_user_search_fts``: FTS5 with the ``trigram`` tokenizer over those two columns
  (external content: the text is stored once, in ``billing_user_search``).
- Triggers on ``"user"`` (insert, update of email or name, delete) keep ``billing_user_search``
  exact, and triggers on it keep the FTS index exact, in the same transaction as the change.
  A migration that rebuilds ``"user"`` (SQLite's copy-and-rename) must create the user triggers
  again.

The same DDL runs when the tables are created from the models (tests) and, as a frozen copy, in
migration 0012. These tables and indexes are invisible to the ORM's metadata: ``include_name``
tells Alembic's comparison to leave them alone.
"""

import logging

import sqlalchemy as sa

logger = logging.getLogger(__name__)

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
# Since migration 0018: the accented capitals of Latin-1 and Latin Extended-A whose lower case
# is one letter (É → é, Ł → ł, Ÿ → ÿ; not İ, whose lower case is two code points), and
# Ukrainian Ґ. Accents themselves still count: "élise" does not find "Elise".
_ACCENTED_UPPER = (
    "".join(c for c in map(chr, range(0xC0, 0x180)) if c.lower() != c and len(c.lower()) == 1) + "Ґ"
)
_ACCENTED_LOWER = "".join(c.lower() for c in _ACCENTED_UPPER)
# Ё → е and ё → е (not ё): "елкин" finds "Ёлкин".
FOLD_FROM = _UPPER + "ё" + _ACCENTED_UPPER
FOLD_TO = _LOWER.replace("ё", "е") + "е" + _ACCENTED_LOWER
_PAIRS = list(zip(FOLD_FROM, FOLD_TO, strict=True))
# SQLite folds with nested replace(), and its parser's stack holds about 75 of them (5 levels of
# 15, below): the first stage is 0012's rule; the accented capitals follow in stages of their
# own, each applied by a second statement to the rows that hold one of its letters.
SQLITE_STAGES = (_PAIRS[:75], _PAIRS[75:122], _PAIRS[122:])
_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)

USERS_TABLE = "billing_user_search"
FTS_TABLE = "billing_user_search_fts"
SEARCH_TABLES = (  # PostgreSQL has the first only
    USERS_TABLE,
    FTS_TABLE,
    *(f"{FTS_TABLE}_{part}" for part in ("data", "idx", "content", "docsize", "config")),
)
TRIGRAM_INDEXES = (f"ix_{USERS_TABLE}_email_trgm", f"ix_{USERS_TABLE}_name_trgm")
POSTGRESQL_SYNC = f"{USERS_TABLE}_sync"


def normalise(text: str) -> str:
    """The search form of ``text`` (see the module docstring); same length as ``text``."""
    return text.translate(_TABLE)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def postgresql_normalised(column: str) -> str:
    """SQL for the normalised ``column`` on PostgreSQL (IMMUTABLE: usable in an index)."""
    return f"translate({column}, {_quote(FOLD_FROM)}, {_quote(FOLD_TO)})"


def _replaced(sql: str, pairs) -> str:
    for upper, lower in pairs:
        sql = f"replace({sql}, '{upper}', '{lower}')"
    return sql


def sqlite_normalising_select(
    source: str, kept: dict[str, str], folded: dict[str, str], pairs=SQLITE_STAGES[0]
) -> str:
    """``SELECT`` the ``kept`` expressions as they are and the ``folded`` ones with ``pairs``
    (a stage of SQLITE_STAGES) replaced, each as its key, ``FROM source`` (empty: no FROM).
    SQLite has no ``translate`` and its ``lower`` folds ASCII only unless an app replaces it,
    so it is nested ``replace``, 15 deep a level (its parser stack overflows at ~35, less
    inside a statement)."""
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


def _holds_any(pairs) -> str:
    letters = "".join(upper for upper, _ in pairs)
    return f"(email GLOB '*[{letters}]*' OR name GLOB '*[{letters}]*')"


def sqlite_later_stages(user_id: str | None) -> tuple[str, ...]:
    """The statements that apply SQLITE_STAGES after the first to the search rows holding one
    of a stage's letters: of the user ``user_id`` (an SQL expression: in a trigger, where
    ``UPDATE ... FROM`` is not allowed) or, None, of every user."""
    statements = []
    for pairs in SQLITE_STAGES[1:]:
        if user_id is None:
            rows = sqlite_normalising_select(
                f"{USERS_TABLE} WHERE {_holds_any(pairs)}",
                {"user_id": "user_id"},
                _EMAIL_AND_NAME,
                pairs,
            )
            statements.append(
                f"UPDATE {USERS_TABLE} SET email = n.email, name = n.name FROM ({rows}) AS n "
                f"WHERE n.user_id = {USERS_TABLE}.user_id"
            )
        else:
            row = sqlite_normalising_select(
                f"{USERS_TABLE} WHERE user_id = {user_id}", {}, _EMAIL_AND_NAME, pairs
            )
            statements.append(
                f"UPDATE {USERS_TABLE} SET (email, name) = ({row}) "
                f"WHERE user_id = {user_id} AND {_holds_any(pairs)}"
            )
    return tuple(statements)


_NEW_USER_LATER = "".join(f"{statement};\n" for statement in sqlite_later_stages("NEW.id"))

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
    *sqlite_later_stages(None),
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
        {_NEW_USER_LATER}
    END
    """,
    f"""
    CREATE TRIGGER user_search_update AFTER UPDATE OF id, email, name ON "user"
    BEGIN
        UPDATE {USERS_TABLE} SET (user_id, email, name) = (
            {_NEW_USER_NORMALISED}
        )
        WHERE user_id = OLD.id;
        {_NEW_USER_LATER}
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
    """The table, its indexes and trigger on PostgreSQL, filled from the users already there;
    the trigram indexes only when ``pg_trgm`` is installed (in ``trigram_schema``)."""

    def normalised(row: str) -> str:
        return f"{postgresql_normalised(f'{row}.email')}, {postgresql_normalised(f'{row}.name')}"

    statements = [
        f"""
        CREATE TABLE {USERS_TABLE} (
            user_id VARCHAR(36) PRIMARY KEY,
            email TEXT COLLATE "C" NOT NULL,
            name TEXT COLLATE "C" NOT NULL
        )
        """,
        f"INSERT INTO {USERS_TABLE} (user_id, email, name) SELECT u.id, {normalised('u')} "
        'FROM "user" AS u',
        f"CREATE UNIQUE INDEX ux_{USERS_TABLE}_email ON {USERS_TABLE} (email)",
        f"CREATE INDEX ix_{USERS_TABLE}_name ON {USERS_TABLE} (name)",
        f"""
        CREATE FUNCTION {POSTGRESQL_SYNC}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO {USERS_TABLE} (user_id, email, name)
                VALUES (NEW.id, {normalised("NEW")});
            ELSIF TG_OP = 'UPDATE' THEN
                UPDATE {USERS_TABLE} SET (user_id, email, name) = (NEW.id, {normalised("NEW")})
                WHERE user_id = OLD.id;
            ELSE
                DELETE FROM {USERS_TABLE} WHERE user_id = OLD.id;
            END IF;
            RETURN NULL;
        END
        $$
        """,
        f"""
        CREATE TRIGGER {POSTGRESQL_SYNC} AFTER INSERT OR DELETE OR UPDATE OF id, email, name
        ON "user" FOR EACH ROW EXECUTE FUNCTION {POSTGRESQL_SYNC}()
        """,
    ]
    if trigram_schema is not None:
        ops = f'"{trigram_schema}".gin_trgm_ops'
        statements += [
            f"CREATE INDEX ix_{USERS_TABLE}_email_trgm ON {USERS_TABLE} USING gin (email {ops})",
            f"CREATE INDEX ix_{USERS_TABLE}_name_trgm ON {USERS_TABLE} USING gin (name {ops})",
        ]
    return tuple(statements)


POSTGRESQL_DROP = (
    f'DROP TRIGGER IF EXISTS {POSTGRESQL_SYNC} ON "user"',
    f"DROP FUNCTION IF EXISTS {POSTGRESQL_SYNC}()",
    f"DROP TABLE IF EXISTS {USERS_TABLE}",  # its indexes go with it
)


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
        logger.warning(
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


def include_name(name, type_, parent_names) -> bool:
    """Alembic's filter: the search tables and indexes are this module's, not the metadata's."""
    if type_ == "table":
        return name not in SEARCH_TABLES
    return True


def _after_create(target, connection, tables=(), **kw) -> None:
    if any(table.name == "user" for table in tables):
        install(connection)


def _before_drop(target, connection, tables=(), **kw) -> None:
    if any(table.name == "user" for table in tables):
        uninstall(connection)


def register(metadata: sa.MetaData) -> None:
    sa.event.listen(metadata, "after_create", _after_create)
    sa.event.listen(metadata, "before_drop", _before_drop)


def _register() -> None:
    from billing_admin.extensions import db

    register(db.Model.metadata)


_register()
