import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db


class AuditVerification(db.Model):
    """One run of ``flask audit verify``: when, how far the chain was walked, and where it broke.

    The audit page shows the latest run. The latest successful run is also an anchor for the
    next: its last entry must still be there with the same hash, so a chain cut short or
    rewritten from some entry on (hashes recomputed) is caught too.
    """

    __tablename__ = "billing_audit_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    verified_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    entries: Mapped[int] = mapped_column(sa.BigInteger)
    # The last entry walked (None: the trail was empty).
    last_entry_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_entry_hash: Mapped[str | None] = mapped_column(sa.String(64))
    # Where the chain broke and why (None: it verified).
    broken_entry_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    problem: Mapped[str | None] = mapped_column(sa.String(255))

    @property
    def ok(self) -> bool:
        return self.problem is None
