"""The audit trail's hash chain: the canonical form of an entry, and the hook that chains
every new entry, whoever writes it.

Each entry stores ``prev_hash`` (its predecessor's ``entry_hash``; 64 zeros for the first) and
``entry_hash = sha256(canonical_form(entry))``, where the canonical form is the JSON object of
every column but ``user_id`` and ``entry_hash`` (``prev_hash`` included, which is what chains),
keys sorted, no spaces, UTF-8, columns holding NULL left out. Leaving NULLs out means a column
added later (NULL in old rows) leaves old entries' hashes as they were; a new column is hashed
from the moment it holds a value, with no change here.

How an entry is chained: a ``before_flush`` hook on every SQLAlchemy session (so
``audit/service.py``, a command, a migration's ORM code or a test all go through it) finds the
new ``AuditLog`` objects of the flush, in the order they were added, and for them:

1. serialises appends: PostgreSQL takes a transaction-level advisory lock (models/audit.py's
   ``APPEND_LOCK_KEY``), held until commit or rollback, so one transaction at a time reads the
   tail and appends; SQLite's write lock (``start_write()``'s ``BEGIN IMMEDIATE``) already
   makes writers take turns, and a writer that did not take it up front fails on its first
   write rather than forking the chain;
2. reads the tail (the entry with the highest id): one indexed query, in the same round trip
   as the lock on PostgreSQL (``billing_audit_log_lock_tail()``, models/audit.py);
3. gives each entry the next id, its creation time if unset, ``prev_hash`` and ``entry_hash``.

Whatever slips past the lock (another isolation level, a process not using this code) cannot
fork the chain: two entries claiming one predecessor claim one id, and the primary key refuses
the second. An insert that bypasses the ORM altogether has no hashes and is refused by the
NOT NULL columns. Cost: one statement a flush with audit entries, and a SHA-256 of a few
hundred bytes (bench/audit_chain.py measures it).
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing_admin.clock import now_epoch
from billing_admin.models.audit import UNHASHED_COLUMNS, AuditLog

GENESIS_HASH = "0" * 64
HASHED_COLUMNS = tuple(
    column.name for column in AuditLog.__table__.columns if column.name not in UNHASHED_COLUMNS
)
JSON_COLUMNS = tuple(
    column.key for column in AuditLog.__table__.columns if isinstance(column.type, sa.JSON)
)


# One encoder for every hash: json.dumps with options would build a new one each call, which
# is a third of the cost of verifying a million entries.
_CANONICAL_JSON = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_form(values: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash is taken over; ``values`` maps column names to the values as
    stored (``prev_hash`` included; JSON columns parsed). Raises ValueError on a value JSON
    cannot hold (NaN)."""
    fields = {}
    for name in HASHED_COLUMNS:
        value = values.get(name)
        if value is not None:
            fields[name] = value
    return _CANONICAL_JSON.encode(fields).encode()


def entry_hash(values: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical form."""
    return hashlib.sha256(canonical_form(values)).hexdigest()


def hash_of_fields(fields: dict[str, Any]) -> str:
    """``entry_hash`` for a dict that holds exactly the hashed columns that are not NULL (the
    verification's fast path: a million entries are hashed in one walk)."""
    return hashlib.sha256(_CANONICAL_JSON.encode(fields).encode()).hexdigest()


_TABLE = AuditLog.__table__
_TAIL = sa.select(_TABLE.c.id, _TABLE.c.entry_hash).order_by(_TABLE.c.id.desc()).limit(1)
_LOCK_AND_TAIL = sa.text("SELECT tail_id, tail_hash FROM billing_audit_log_lock_tail()")


def chain_tail(session: Session) -> tuple[int, str]:
    """(id, entry_hash) of the newest entry; (0, GENESIS_HASH) for an empty trail. No lock."""
    # On the session's connection directly: the ORM's result processing is not needed here,
    # and this runs on every save.
    row = session.connection().execute(_TAIL).first()
    return (row.id, row.entry_hash) if row else (0, GENESIS_HASH)


def lock_and_read_tail(session: Session) -> tuple[int, str]:
    """``chain_tail`` once this transaction holds the append lock (see the module doc).
    PostgreSQL: one round trip to ``billing_audit_log_lock_tail()`` (models/audit.py), which
    takes the advisory lock, then reads the tail with a snapshot taken after it was granted."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return chain_tail(session)
    row = connection.execute(_LOCK_AND_TAIL).one()
    return (row.tail_id, row.tail_hash) if row.tail_id is not None else (0, GENESIS_HASH)


def chain_entries(session: Session, entries: Iterable[AuditLog]) -> None:
    """Fill in id, created_at, prev_hash and entry_hash of new entries, in order, after the
    current tail. JSON values are stored exactly as hashed (a round trip through JSON first:
    a tuple becomes a list, as it would in the database)."""
    last_id, last_hash = lock_and_read_tail(session)
    for entry in entries:
        if entry.created_at is None:
            entry.created_at = now_epoch()
        for name in JSON_COLUMNS:
            value = getattr(entry, name)
            if value is not None:
                setattr(entry, name, json.loads(json.dumps(value, allow_nan=False)))
        last_id += 1
        entry.id = last_id
        entry.prev_hash = last_hash
        values = {name: getattr(entry, name) for name in HASHED_COLUMNS}
        entry.entry_hash = last_hash = entry_hash(values)


@sa.event.listens_for(Session, "before_flush")
def _chain_new_audit_entries(session: Session, flush_context, instances) -> None:
    entries = [obj for obj in session.new if isinstance(obj, AuditLog)]
    if entries:
        entries.sort(key=lambda entry: sa.inspect(entry).insert_order)
        chain_entries(session, entries)
