from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models.price import Price

PRICE_MOVE_STATUSES = ("running", "completed")


class PriceMove(db.Model):
    """Moving a plan's subscriptions from older prices to the price that was current when the
    move started (issue 12): the record of one move, so that one interrupted half-way continues
    where it stopped and the move is audited once, with its counts.

    ``expected`` is the preview the admin confirmed and ``moved`` what has been moved so far, both
    shaped ``{"<price_id>": {"<status>": count}}``. ``heartbeat_at`` is written with every batch:
    a running move whose heartbeat is old has lost its runner (a restart) and can be continued.
    One move at a time per plan (a unique partial index).
    """

    __tablename__ = "billing_price_move"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ({})".format(", ".join(f"'{s}'" for s in PRICE_MOVE_STATUSES)),
            name="status",
        ),
        sa.Index(
            "ix_billing_price_move_running",
            "plan_id",
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(sa.ForeignKey("billing_plan.id", ondelete="CASCADE"))
    to_price_id: Mapped[int] = mapped_column(sa.ForeignKey("billing_price.id", ondelete="CASCADE"))
    # None: from every older price of the plan.
    from_price_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("billing_price.id", ondelete="CASCADE")
    )
    expected: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    moved: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(16), default="running")
    actor: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    started_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    heartbeat_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    finished_at: Mapped[int | None] = mapped_column(sa.BigInteger)

    to_price: Mapped[Price] = relationship(foreign_keys=[to_price_id])

    @property
    def expected_total(self) -> int:
        return sum(sum(counts.values()) for counts in self.expected.values())

    @property
    def moved_total(self) -> int:
        return sum(sum(counts.values()) for counts in self.moved.values())

    def __repr__(self) -> str:
        return f"<PriceMove {self.id} {self.plan_id} {self.status}>"
