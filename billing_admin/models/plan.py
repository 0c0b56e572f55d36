from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models.price import Price


class Plan(db.Model):
    """A subscription plan. ``quotas = None`` means the whole plan is unlimited.

    ``price``, ``currency`` and ``interval`` are the plan's current price, what new subscriptions
    pay; ``prices`` is the history of them, kept by the database (models/price.py)."""

    __tablename__ = "billing_plan"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    name_ru: Mapped[str | None] = mapped_column(sa.String(100))
    description: Mapped[str | None] = mapped_column(sa.Text)
    description_ru: Mapped[str | None] = mapped_column(sa.Text)
    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    currency: Mapped[str] = mapped_column(sa.String(3), default="RUB", server_default="RUB")
    interval: Mapped[str] = mapped_column(sa.String(16))
    quotas: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    features: Mapped[list[str] | None] = mapped_column(sa.JSON)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    display_order: Mapped[int] = mapped_column(default=0, server_default="0")
    plan_extra_metadata: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch, onupdate=now_epoch)
    # Bumped by the ORM on every UPDATE; an UPDATE carrying a stale version matches no row and
    # raises StaleDataError, which is how a save over someone else's newer edit is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)

    # Written by triggers, read here; the database deletes them with the plan.
    prices: Mapped[list[Price]] = relationship(
        order_by=(Price.active_from, Price.id), viewonly=True
    )

    def __repr__(self) -> str:
        return f"<Plan {self.id} v{self.version}>"
