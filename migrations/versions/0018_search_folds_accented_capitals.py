"""Search folds accented Latin capitals (É → é, Ł → ł) and Ukrainian Ґ (issue 13).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30

Issue 13 asks for matching that is case-insensitive for Latin and Cyrillic alike; 0012's rule
lower-cased A–Z, А–Я and Ѐ–Џ only, so "élise" did not find "ÉLISE". The rule now also folds the
capitals of Latin-1 and Latin Extended-A whose lower case is one letter, and Ґ.

- The stored normalised rows of ``billing_user_search`` are computed again for the users whose
  email or name holds one of the newly folded capitals (the others do not change, and on
  SQLite each changed row also rewrites its full-text entry). Refused, with the emails named,
  when two users' emails become equal under the new rule (the unique index could not hold).
- The code that keeps the rows (SQLite: the triggers on ``"user"``; PostgreSQL: the trigger
  function ``billing_user_search_sync``) is made again with the new rule.

Downgrade puts the old rule back the same way. A frozen copy of billing_admin/models/
user_search.py's rule and DDL as of this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLE = "billing_user_search"
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
ACCENTED_UPPER = (
    "".join(c for c in map(chr, range(0xC0, 0x180)) if c.lower() != c and len(c.lower()) == 1) + "Ґ"
)
ACCENTED_LOWER = "".join(c.lower() for c in ACCENTED_UPPER)
OLD = (_UPPER + "ё", _LOWER.replace("ё", "е") + "е")
NEW = (OLD[0] + ACCENTED_UPPER, OLD[1] + ACCENTED_LOWER)
_NEW_PAIRS = list(zip(*NEW, strict=True))
# SQLite folds with nested replace(), about 75 at most (its parser's stack): 0012's rule is the
# first stage, the accented capitals two more, each applied to the rows holding its letters.
OLD_STAGES = (_NEW_PAIRS[:75],)
NEW_STAGES = (_NEW_PAIRS[:75], _NEW_PAIRS[75:122], _NEW_PAIRS[122:])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _translated(column: str, fold) -> str:
    return f"translate({column}, {_quote(fold[0])}, {_quote(fold[1])})"


def _sqlite_select(source: str, kept: dict, folded: dict, pairs) -> str:
    """SQLite: ``pairs`` as nested ``replace``, 15 a level."""
    sql = ""
    for level, start in enumerate(range(0, len(pairs), 15)):
        chunk = pairs[start : start + 15]
        parts = []
        for alias, expression in {**kept, **folded}.items():
            value = expression if level == 0 else alias
            if alias in folded:
                for upper, lower in chunk:
                    value = f"replace({value}, '{upper}', '{lower}')"
            parts.append(f"{value} AS {alias}")
        select = "SELECT " + ", ".join(parts)
        if level == 0:
            sql = select + (f" FROM {source}" if source else "")
        else:
            sql = f"{select} FROM ({sql})"
    return sql


_EMAIL_AND_NAME = {"email": "email", "name": "name"}


def _holds_any(letters: str, prefix: str = "") -> str:
    if op.get_bind().dialect.name == "sqlite":
        glob = f"'*[{letters}]*'"
        return f"({prefix}email GLOB {glob} OR {prefix}name GLOB {glob})"
    pattern = _quote(f"[{letters}]")
    return f"({prefix}email ~ {pattern} OR {prefix}name ~ {pattern})"


def _refuse_duplicates() -> None:
    """The users whose email holds an accented capital, normalised under the new rule (in
    Python: the same rule), must not meet another user's."""
    connection = op.get_bind()
    table = str.maketrans(*NEW)
    affected = connection.exec_driver_sql(
        f'SELECT id, email FROM "user" WHERE {_holds_any(ACCENTED_UPPER)}'
    ).all()
    emails: dict[str, str] = {}
    clashes = set()
    for user_id, email in affected:
        normalised = email.translate(table)
        if normalised in emails:
            clashes.add(normalised)
        emails[normalised] = user_id
    for user_id, email in connection.execute(
        sa.text(f"SELECT user_id, email FROM {TABLE} WHERE email IN :emails").bindparams(
            sa.bindparam("emails", expanding=True)
        ),
        {"emails": list(emails) or [""]},
    ):
        if emails.get(email) != user_id:
            clashes.add(email)
    if clashes:
        listed = ", ".join(sorted(clashes)[:5])
        raise RuntimeError(
            "Migration 0018 needs every user's email to stay unique once accented capitals are "
            f"lower-cased, and these would not: {listed}. Change or merge those users, then "
            "run it again."
        )


def _sqlite_triggers(stages) -> None:
    first = _sqlite_select(
        "", {"user_id": "NEW.id"}, {"email": "NEW.email", "name": "NEW.name"}, stages[0]
    )
    later = ""
    for pairs in stages[1:]:
        letters = "".join(upper for upper, _ in pairs)
        row = _sqlite_select(f"{TABLE} WHERE user_id = NEW.id", {}, _EMAIL_AND_NAME, pairs)
        later += (
            f"UPDATE {TABLE} SET (email, name) = ({row}) "
            f"WHERE user_id = NEW.id AND {_holds_any(letters)};\n"
        )
    op.execute("DROP TRIGGER IF EXISTS user_search_insert")
    op.execute("DROP TRIGGER IF EXISTS user_search_update")
    op.execute(
        f"""
        CREATE TRIGGER user_search_insert AFTER INSERT ON "user"
        BEGIN
            INSERT INTO {TABLE} (user_id, email, name)
            {first};
            {later}
        END
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER user_search_update AFTER UPDATE OF id, email, name ON "user"
        BEGIN
            UPDATE {TABLE} SET (user_id, email, name) = (
                {first}
            )
            WHERE user_id = OLD.id;
            {later}
        END
        """
    )


def _postgresql_function(fold) -> None:
    def row(name: str) -> str:
        return f"{_translated(f'{name}.email', fold)}, {_translated(f'{name}.name', fold)}"

    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {TABLE}_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO {TABLE} (user_id, email, name) VALUES (NEW.id, {row("NEW")});
            ELSIF TG_OP = 'UPDATE' THEN
                UPDATE {TABLE} SET (user_id, email, name) = (NEW.id, {row("NEW")})
                WHERE user_id = OLD.id;
            ELSE
                DELETE FROM {TABLE} WHERE user_id = OLD.id;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )


def _apply(fold, stages) -> None:
    """The rule ``fold`` (SQLite: ``stages``) for later writes and for the users it changes."""
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        _sqlite_triggers(stages)
        # Stage one (0012's rule) again from the user row, then the later stages.
        rows = _sqlite_select(
            f'"user" WHERE {_holds_any(ACCENTED_UPPER)}',
            {"user_id": "id"},
            _EMAIL_AND_NAME,
            stages[0],
        )
        updates = [rows] + [
            _sqlite_select(
                f"{TABLE} WHERE {_holds_any(''.join(u for u, _ in pairs))}",
                {"user_id": "user_id"},
                _EMAIL_AND_NAME,
                pairs,
            )
            for pairs in stages[1:]
        ]
        for rows in updates:
            op.execute(
                f"UPDATE {TABLE} SET email = n.email, name = n.name FROM ({rows}) AS n "
                f"WHERE n.user_id = {TABLE}.user_id"
            )
    elif connection.dialect.name == "postgresql":
        _postgresql_function(fold)
        op.execute(
            f"UPDATE {TABLE} AS s SET email = {_translated('u.email', fold)}, "
            f"name = {_translated('u.name', fold)} "
            f'FROM "user" AS u WHERE u.id = s.user_id AND {_holds_any(ACCENTED_UPPER, "u.")}'
        )


def _hold_user_writes() -> None:
    """PostgreSQL: a user written while the rule changes would be folded by the old function
    after the refold has read the users; writes to "user" wait for this migration instead
    (under a second on a million users). SQLite's migration holds its write lock anyway."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute('LOCK TABLE "user" IN SHARE ROW EXCLUSIVE MODE')


def upgrade() -> None:
    _hold_user_writes()
    _refuse_duplicates()
    _apply(NEW, NEW_STAGES)


def downgrade() -> None:
    _hold_user_writes()
    _apply(OLD, OLD_STAGES)
