"""A plan's prices: what a subscription pays each period, one row for each price a plan has had.

Stripe's immutable Price objects and Lago's plan versions, in one table (issue 12). A plan's
columns ``price``, ``currency`` and ``interval`` are its *current* price (the chat platform reads
them to offer the plan); the rows here are that price's history, and each subscription points at
the row it pays (``billing_subscription.price_id``).

The database keeps the history, whoever writes the plan (this app, the platform, a migration),
as it keeps the subscription counts:

- Inserting a plan opens its first price, from the plan's own price and ``created_at``.
- Updating a plan's price, currency or interval closes the open price (``active_until``) and
  opens a new one, at the plan's new ``updated_at`` (the app's clock; the database's when the
  writer did not move it forward), in the same transaction.
  Changing anything else opens nothing.
- A price is never edited: its amount, currency, interval, plan and start cannot change, and once
  closed it stays closed. A unique partial index allows one open price per plan.

The same DDL runs when the tables are created from the models (tests) and, as a frozen copy, in
migration 0006.
"""

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db

TABLE = "billing_price"
IMMUTABLE = "a price is never edited: change the price of the plan to open a new one"
# When a price changes: the plan's new updated_at (the app's clock: SQLAlchemy sets it on every
# update) when the writer moved it forward, else the database's clock (a writer that changed the
# price alone, as psql or the platform may, must not date the new price in the past).
SQLITE_MOMENT = (
    "CASE WHEN NEW.updated_at > OLD.updated_at THEN NEW.updated_at "
    "ELSE CAST(strftime('%s', 'now') AS INTEGER) END"
)

SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER billing_plan_price_open AFTER INSERT ON billing_plan
    BEGIN
        INSERT INTO {TABLE} (plan_id, amount, currency, interval, active_from, created_at)
        VALUES (NEW.id, NEW.price, NEW.currency, NEW.interval, NEW.created_at, NEW.created_at);
    END
    """,
    f"""
    CREATE TRIGGER billing_plan_price_change
    AFTER UPDATE OF price, currency, interval ON billing_plan
    WHEN OLD.price IS NOT NEW.price OR OLD.currency IS NOT NEW.currency
        OR OLD.interval IS NOT NEW.interval
    BEGIN
        UPDATE {TABLE} SET active_until = max(active_from, {SQLITE_MOMENT})
        WHERE plan_id = NEW.id AND active_until IS NULL;
        INSERT INTO {TABLE} (plan_id, amount, currency, interval, active_from, created_at)
        SELECT NEW.id, NEW.price, NEW.currency, NEW.interval, moment, moment
        FROM (SELECT max({SQLITE_MOMENT}, coalesce(max(active_until), 0)) AS moment
              FROM {TABLE} WHERE plan_id = NEW.id);
    END
    """,
    f"""
    CREATE TRIGGER billing_price_immutable BEFORE UPDATE ON {TABLE}
    WHEN NEW.plan_id IS NOT OLD.plan_id OR NEW.amount IS NOT OLD.amount
        OR NEW.currency IS NOT OLD.currency OR NEW.interval IS NOT OLD.interval
        OR NEW.active_from IS NOT OLD.active_from
        OR (OLD.active_until IS NOT NULL AND NEW.active_until IS NOT OLD.active_until)
    BEGIN
        SELECT RAISE(ABORT, '{IMMUTABLE}');
    END
    """,
)

POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION billing_plan_price_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        moment bigint;
        closed bigint;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            moment := NEW.created_at;
        ELSE
            moment := CASE WHEN NEW.updated_at > OLD.updated_at THEN NEW.updated_at
                ELSE floor(extract(epoch FROM now()))::bigint END;
            UPDATE {TABLE} SET active_until = greatest(active_from, moment)
            WHERE plan_id = NEW.id AND active_until IS NULL
            RETURNING active_until INTO closed;
            moment := coalesce(closed, moment);
        END IF;
        INSERT INTO {TABLE} (plan_id, amount, currency, interval, active_from, created_at)
        VALUES (NEW.id, NEW.price, NEW.currency, NEW.interval, moment, moment);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER billing_plan_price_open AFTER INSERT ON billing_plan
    FOR EACH ROW EXECUTE FUNCTION billing_plan_price_sync()
    """,
    """
    CREATE TRIGGER billing_plan_price_change AFTER UPDATE OF price, currency, interval
    ON billing_plan FOR EACH ROW
    WHEN (OLD.price IS DISTINCT FROM NEW.price OR OLD.currency IS DISTINCT FROM NEW.currency
        OR OLD.interval IS DISTINCT FROM NEW.interval)
    EXECUTE FUNCTION billing_plan_price_sync()
    """,
    f"""
    CREATE FUNCTION billing_price_refuse_edit() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.plan_id IS DISTINCT FROM OLD.plan_id OR NEW.amount IS DISTINCT FROM OLD.amount
            OR NEW.currency IS DISTINCT FROM OLD.currency
            OR NEW.interval IS DISTINCT FROM OLD.interval
            OR NEW.active_from IS DISTINCT FROM OLD.active_from
            OR (OLD.active_until IS NOT NULL
                AND NEW.active_until IS DISTINCT FROM OLD.active_until) THEN
            RAISE EXCEPTION '{IMMUTABLE}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    f"""
    CREATE TRIGGER billing_price_immutable BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION billing_price_refuse_edit()
    """,
)
POSTGRESQL_FUNCTIONS = ("billing_plan_price_sync()", "billing_price_refuse_edit()")


class Price(db.Model):
    """One price of a plan: ``amount`` (RUB, USD or EUR, two decimals) each ``interval``, in
    force from ``active_from`` until ``active_until`` (Unix seconds; None while it is the plan's
    current price). Rows are written by the database's triggers, never edited (see above)."""

    __tablename__ = TABLE
    __table_args__ = (
        # The target of billing_subscription's (plan_id, price_id) foreign key, which makes the
        # database refuse a subscription paying another plan's price.
        sa.UniqueConstraint("plan_id", "id", name="uq_billing_price_plan_id_id"),
        sa.Index(
            "ix_billing_price_current",
            "plan_id",
            unique=True,
            sqlite_where=sa.text("active_until IS NULL"),
            postgresql_where=sa.text("active_until IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(sa.ForeignKey("billing_plan.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    currency: Mapped[str] = mapped_column(sa.String(3))
    interval: Mapped[str] = mapped_column(sa.String(16))
    active_from: Mapped[int] = mapped_column(sa.BigInteger)
    active_until: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)

    @property
    def is_current(self) -> bool:
        return self.active_until is None

    def __repr__(self) -> str:
        return f"<Price {self.id} {self.plan_id} {self.amount} {self.currency}/{self.interval}>"


def _install_triggers(target, connection, tables=(), **kw) -> None:
    if not any(table.name == TABLE for table in tables):
        return
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(
        connection.dialect.name, ()
    )
    for statement in statements:
        connection.exec_driver_sql(statement)


def _drop_postgresql_functions(target, connection, **kw) -> None:
    if connection.dialect.name == "postgresql":
        for function in POSTGRESQL_FUNCTIONS:
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function} CASCADE")


sa.event.listen(db.Model.metadata, "after_create", _install_triggers)
sa.event.listen(db.Model.metadata, "after_drop", _drop_postgresql_functions)
