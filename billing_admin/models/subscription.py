from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models.user import new_id

SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "paused", "canceled")


def current_price_of_plan(context: DefaultExecutionContext) -> int | None:
    """A new subscription pays its plan's current price unless it names one (issue 12): the
    default of ``price_id`` for inserts made through SQLAlchemy. Bulk inserts name it."""
    plan_id = context.get_current_parameters()["plan_id"]
    return context.connection.scalar(
        sa.text("SELECT id FROM billing_price WHERE plan_id = :plan AND active_until IS NULL"),
        {"plan": plan_id},
    )


class Subscription(db.Model):
    __tablename__ = "billing_subscription"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ({})".format(", ".join(f"'{s}'" for s in SUBSCRIPTION_STATUSES)),
            name="status",
        ),
        # "A plan's subscribers, newest first" walks this index; id breaks created_at ties.
        sa.Index("ix_billing_subscription_plan_created", "plan_id", "created_at", "id"),
        # The same, for one status (the subscriber table's status filter).
        sa.Index(
            "ix_billing_subscription_plan_status_created", "plan_id", "status", "created_at", "id"
        ),
        # The price a subscription pays is one of its own plan's prices: the database refuses
        # any other (billing_price's unique (plan_id, id) is the target).
        sa.ForeignKeyConstraint(
            ["plan_id", "price_id"],
            ["billing_price.plan_id", "billing_price.id"],
            name="fk_billing_subscription_price",
        ),
        # "The subscriptions paying this price", in id order (the move to the current price
        # walks it in batches).
        sa.Index("ix_billing_subscription_price", "price_id", "id"),
        # Sorting by the end of the current period (issue 13), both directions (a b-tree walks
        # either way): within a plan, within a plan and status, across plans.
        sa.Index("ix_billing_subscription_plan_period_end", "plan_id", "current_period_end", "id"),
        sa.Index(
            "ix_billing_subscription_plan_status_period_end",
            "plan_id",
            "status",
            "current_period_end",
            "id",
        ),
        sa.Index("ix_billing_subscription_period_end", "current_period_end", "id"),
        # Across plans, newest (or oldest) first; also "new subscriptions in the last 30 days".
        sa.Index("ix_billing_subscription_created", "created_at", "id"),
        # Across plans with a status filter, by either date.
        sa.Index("ix_billing_subscription_status_created", "status", "created_at", "id"),
        sa.Index("ix_billing_subscription_status_period_end", "status", "current_period_end", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("user.id"), index=True)
    plan_id: Mapped[str] = mapped_column(sa.ForeignKey("billing_plan.id"))
    # What it pays (billing_price): kept when the plan's price changes (issue 12).
    price_id: Mapped[int] = mapped_column(default=current_price_of_plan)
    status: Mapped[str] = mapped_column(sa.String(16))
    current_period_start: Mapped[int] = mapped_column(sa.BigInteger)
    current_period_end: Mapped[int] = mapped_column(sa.BigInteger)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    trial_end: Mapped[int | None] = mapped_column(sa.BigInteger)
    # When the subscription was canceled (ours: the original keeps no such date). Churn and
    # the cancellation trend are counted from it.
    canceled_at: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
    extra_metadata: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # Indexed with id for "new subscriptions in the last 30 days" and sorting across plans.
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    updated_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch, onupdate=now_epoch)
    # Lost-update protection (issue 13), as plans have: bumped by the ORM on every UPDATE it
    # makes, and by this app's bulk writers (the move to the current price). An action carries
    # the version the admin saw (subscriptions/actions.py); an UPDATE made with a stale one
    # matches no row (StaleDataError). Writers outside the app should bump it too.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)

    def __repr__(self) -> str:
        return f"<Subscription {self.id} {self.plan_id} {self.status}>"
