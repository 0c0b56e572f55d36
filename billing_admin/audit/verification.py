"""Checking the audit trail's hash chain (``flask audit verify``), and what the last check found.

The walk reads entries in id order, ``BATCH_SIZE`` at a time by key (``id > last``), never more
in memory: constant memory at any length. For each entry it checks that ``prev_hash`` is the
previous entry's ``entry_hash`` (nothing removed or inserted before it) and that ``entry_hash``
is the hash of what the entry holds now (nothing in it changed). The last successful
verification is an anchor: its last entry must still be there with the same hash, which also
catches a trail cut short or rewritten from some entry on with every hash recomputed.

The first broken entry stops the walk; every run is recorded (``billing_audit_verification``)
so the audit page can say how far the chain was verified and when. 1,000,000 entries take
12–26 seconds (docs/benchmarks.md).
"""

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import AuditLog, AuditVerification
from billing_admin.models.audit_chain import (
    GENESIS_HASH,
    HASHED_COLUMNS,
    JSON_COLUMNS,
    hash_of_fields,
)
from billing_admin.transactions import start_write

BATCH_SIZE = 5_000
COLUMNS = (*HASHED_COLUMNS, "entry_hash")  # what a batch reads, in this order
ID_POSITION = COLUMNS.index("id")
WALK_CACHE_KIB = 8 * 1024


@dataclass(frozen=True)
class ChainReport:
    """What a walk found: ``entries`` walked (up to the break), the last good entry, and the
    first broken entry with the reason (``broken_entry_id`` None: the chain holds)."""

    entries: int
    last_entry_id: int | None
    last_entry_hash: str | None
    broken_entry_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        """One line for the command: ``ok, N entries`` or where the chain breaks."""
        if self.ok:
            return f"ok, {self.entries} entries"
        return f"broken at entry {self.broken_entry_id}: {self.problem}"


def _batch_query() -> sa.TextClause:
    """The next ``:limit`` entries after id ``:after``, as the driver gives them: JSON columns
    as their stored text (parsed here: SQLAlchemy's row processing would cost more than the
    hashing), every other column as is."""
    columns = ", ".join(
        f"CAST({name} AS TEXT) AS {name}" if name in JSON_COLUMNS else name for name in COLUMNS
    )
    return sa.text(
        f"SELECT {columns} FROM {AuditLog.__tablename__} WHERE id > :after ORDER BY id LIMIT :limit"
    )


def _batches(batch_size: int) -> Iterator[list]:
    """The trail in id order, ``batch_size`` rows at a time, on a connection of its own.
    (Reading the next batch in a thread while one is hashed was tried: no faster on two busy
    cores, docs/benchmarks.md.)"""
    query = _batch_query()
    with db.engine.connect() as connection, _small_sqlite_cache(connection):
        after = 0
        while True:
            rows = connection.execute(query, {"after": after, "limit": batch_size}).all()
            connection.rollback()  # a long walk holds no snapshot between batches
            yield rows
            if len(rows) < batch_size:
                return
            after = rows[-1][ID_POSITION]


def walk_chain(batch_size: int = BATCH_SIZE) -> ChainReport:
    """Walk the whole chain; see the module doc. Reads only."""
    names = COLUMNS
    json_columns = [name for name in names if name in JSON_COLUMNS]
    # raw_decode: json.loads without its two whitespace scans (stored JSON has none around it);
    # text left after the value is checked below, so nothing can hide behind a valid value.
    raw_decode = json.JSONDecoder().raw_decode
    anchor = _anchor()
    db.session.rollback()
    previous_id, previous_hash, entries = None, GENESIS_HASH, 0
    batches = _batches(batch_size)
    with contextlib.closing(batches):
        for rows in batches:
            for row in rows:
                # The hashed columns that are not NULL, JSON parsed: the canonical form's input
                # (a JSON column holding JSON null counts as NULL, as canonical_form has it).
                fields = {
                    name: value for name, value in zip(names, row, strict=True) if value is not None
                }
                stored_hash = fields.pop("entry_hash")
                problem = None
                for name in json_columns:
                    if name in fields:
                        text = fields[name]
                        try:
                            value, end = raw_decode(text)
                        except ValueError:
                            end, value = -1, None
                        if end != len(text):
                            problem = f"its {name} is not valid JSON (the entry was changed)"
                        elif value is None:
                            del fields[name]
                        else:
                            fields[name] = value
                problem = problem or _problem(fields, stored_hash, previous_hash, anchor)
                if problem:
                    return ChainReport(entries, previous_id, previous_hash, fields["id"], problem)
                previous_id, previous_hash = fields["id"], stored_hash
                entries += 1
    if anchor is not None and (previous_id is None or previous_id < anchor.entry_id):
        return ChainReport(
            entries,
            previous_id,
            previous_hash,
            anchor.entry_id,
            f"missing: the trail ends at entry {previous_id or 0}, but this entry was there "
            f"when the chain was verified at {anchor.when}",
        )
    return ChainReport(entries, previous_id, previous_hash if previous_id else None)


@contextlib.contextmanager
def _small_sqlite_cache(connection) -> Iterator[None]:
    """The walk reads each page once: SQLite's page cache (256 MiB a connection, sqlite.py)
    would only hold the trail in memory. A small one for the walk, the usual one after."""
    if connection.dialect.name != "sqlite":
        yield
        return
    usual = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{WALK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.rollback()
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(usual)}")
        connection.rollback()


@dataclass(frozen=True)
class _Anchor:
    entry_id: int
    entry_hash: str
    when: str


def _anchor() -> _Anchor | None:
    """The last entry of the last successful verification, if it walked any."""
    last = latest_verification(successful=True)
    if last is None or last.last_entry_id is None:
        return None
    when = datetime.fromtimestamp(last.verified_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return _Anchor(last.last_entry_id, last.last_entry_hash, when)


def _problem(
    fields: dict, stored_hash: str, previous_hash: str, anchor: _Anchor | None
) -> str | None:
    if fields.get("prev_hash") != previous_hash:
        return "it does not follow the entry before it (an entry was removed or inserted)"
    if hash_of_fields(fields) != stored_hash:
        return "its contents do not match its hash (the entry was changed)"
    if anchor is not None and fields["id"] == anchor.entry_id and stored_hash != anchor.entry_hash:
        return (
            f"its hash differs from the one verified at {anchor.when}: the chain was "
            "rewritten from here or before"
        )
    return None


def verify_chain(batch_size: int = BATCH_SIZE) -> ChainReport:
    """Walk the chain and record the result (committed); returns the report."""
    report = walk_chain(batch_size)
    start_write()
    db.session.add(
        AuditVerification(
            verified_at=now_epoch(),
            entries=report.entries,
            last_entry_id=report.last_entry_id,
            last_entry_hash=report.last_entry_hash,
            broken_entry_id=report.broken_entry_id,
            problem=report.problem,
        )
    )
    db.session.commit()
    return report


def latest_verification(*, successful: bool = False) -> AuditVerification | None:
    """The most recent recorded run (only successful ones with ``successful``), or None."""
    query = sa.select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1)
    if successful:
        query = query.where(AuditVerification.problem.is_(None))
    return db.session.scalar(query)
