"""Checking the audit trail's hash chain (``flask audit verify``), and what the last check found.

The walk reads entries in id order, ``BATCH_SIZE`` at a time by key (``id > last``), never more
in memory: constant memory at any length. For each entry it checks that ``prev_hash`` is the
previous entry's ``entry_hash`` (nothing removed or inserted before it) and that ``entry_hash``
is the hash of what the entry holds now (nothing in it changed). The last successful
verification is an anchor: its last entry must still be there with the same hash, which also
catches a trail cut short or rewritten from some entry on with every hash recomputed.

The first broken entry stops the walk; every run is recorded (``billing_audit_verification``)
so the audit page can say how far the chain was verified and when. 1,000,000 entries take
seconds (docs/benchmarks.md).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import AuditLog, AuditVerification
from billing_admin.models.audit_chain import GENESIS_HASH, HASHED_COLUMNS, entry_hash
from billing_admin.transactions import start_write

BATCH_SIZE = 5_000


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


def walk_chain(batch_size: int = BATCH_SIZE) -> ChainReport:
    """Walk the whole chain; see the module doc. Reads only."""
    table = AuditLog.__table__
    columns = [table.c[name] for name in HASHED_COLUMNS] + [table.c.entry_hash]
    anchor = _anchor()
    previous_id, previous_hash, entries = None, GENESIS_HASH, 0
    while True:
        query = sa.select(*columns).order_by(table.c.id).limit(batch_size)
        if previous_id is not None:
            query = query.where(table.c.id > previous_id)
        rows = db.session.execute(query).all()
        db.session.rollback()  # end the read: a long walk holds no snapshot between batches
        for row in rows:
            values = row._mapping
            problem = _problem(values, previous_hash, anchor)
            if problem:
                return ChainReport(entries, previous_id, previous_hash, values["id"], problem)
            previous_id, previous_hash = values["id"], values["entry_hash"]
            entries += 1
        if len(rows) < batch_size:
            break
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


def _problem(values, previous_hash: str, anchor: _Anchor | None) -> str | None:
    if values["prev_hash"] != previous_hash:
        return "it does not follow the entry before it (an entry was removed or inserted)"
    if entry_hash(values) != values["entry_hash"]:
        return "its contents do not match its hash (the entry was changed)"
    if (
        anchor is not None
        and values["id"] == anchor.entry_id
        and values["entry_hash"] != anchor.entry_hash
    ):
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
