"""Subscriptions per plan, price and status, kept exact by database triggers.

Counting a plan's 500,000 subscriptions on every page of its subscriber table costs tens of
milliseconds; reading these rows costs almost nothing. The triggers run inside the transaction
that changes ``billing_subscription``, so the counts can never disagree with the rows, whoever
writes them (this app, the platform, a migration). On PostgreSQL they are statement-level
triggers over transition tables, so a bulk insert updates each counter once, not once a row;
a ``TRUNCATE`` of the subscriptions (no row is deleted one by one) empties the counts too.

Every money figure reads these rows joined with the prices they count (issue 12: MRR is what
each subscription's own price is worth a month), so it stays one small query at any size.

The same DDL runs when the tables are created from the models (tests) and, as a frozen copy, in
migration 0006 (0003 had the first version, without prices; 0019 added the TRUNCATE trigger).
"""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.extensions import db

TABLE = "billing_plan_subscription_count"

SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER billing_subscription_count_insert AFTER INSERT ON billing_subscription
    BEGIN
        INSERT INTO {TABLE} (plan_id, price_id, status, count)
        VALUES (NEW.plan_id, NEW.price_id, NEW.status, 1)
        ON CONFLICT (plan_id, price_id, status) DO UPDATE SET count = count + 1;
    END
    """,
    f"""
    CREATE TRIGGER billing_subscription_count_delete AFTER DELETE ON billing_subscription
    BEGIN
        UPDATE {TABLE} SET count = count - 1
        WHERE plan_id = OLD.plan_id AND price_id = OLD.price_id AND status = OLD.status;
    END
    """,
    f"""
    CREATE TRIGGER billing_subscription_count_update
    AFTER UPDATE OF plan_id, price_id, status ON billing_subscription
    WHEN OLD.plan_id IS NOT NEW.plan_id OR OLD.price_id IS NOT NEW.price_id
        OR OLD.status IS NOT NEW.status
    BEGIN
        UPDATE {TABLE} SET count = count - 1
        WHERE plan_id = OLD.plan_id AND price_id = OLD.price_id AND status = OLD.status;
        INSERT INTO {TABLE} (plan_id, price_id, status, count)
        VALUES (NEW.plan_id, NEW.price_id, NEW.status, 1)
        ON CONFLICT (plan_id, price_id, status) DO UPDATE SET count = count + 1;
    END
    """,
)

POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION billing_subscription_count_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            INSERT INTO {TABLE} AS c (plan_id, price_id, status, count)
            SELECT plan_id, price_id, status, -count(*) FROM old_rows
            GROUP BY plan_id, price_id, status
            ON CONFLICT (plan_id, price_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO {TABLE} AS c (plan_id, price_id, status, count)
            SELECT plan_id, price_id, status, count(*) FROM new_rows
            GROUP BY plan_id, price_id, status
            ON CONFLICT (plan_id, price_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER billing_subscription_count_insert AFTER INSERT ON billing_subscription
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_subscription_count_sync()
    """,
    """
    CREATE TRIGGER billing_subscription_count_update AFTER UPDATE ON billing_subscription
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_subscription_count_sync()
    """,
    """
    CREATE TRIGGER billing_subscription_count_delete AFTER DELETE ON billing_subscription
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_subscription_count_sync()
    """,
    # TRUNCATE fires no DELETE trigger: every count goes with the rows (migration 0019).
    f"""
    CREATE FUNCTION billing_subscription_count_clear() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM {TABLE};
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER billing_subscription_count_clear AFTER TRUNCATE ON billing_subscription
    FOR EACH STATEMENT EXECUTE FUNCTION billing_subscription_count_clear()
    """,
)


class PlanSubscriptionCount(db.Model):
    __tablename__ = TABLE

    plan_id: Mapped[str] = mapped_column(
        sa.ForeignKey("billing_plan.id", ondelete="CASCADE"), primary_key=True
    )
    price_id: Mapped[int] = mapped_column(
        sa.ForeignKey("billing_price.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)


def _install_triggers(target, connection, tables=(), **kw) -> None:
    if not any(table.name == TABLE for table in tables):
        return
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(
        connection.dialect.name, ()
    )
    for statement in statements:
        connection.exec_driver_sql(statement)


def _drop_postgresql_function(target, connection, **kw) -> None:
    if connection.dialect.name == "postgresql":
        for function in ("billing_subscription_count_sync", "billing_subscription_count_clear"):
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}()")


# The triggers sit on billing_subscription: create them once every table exists.
sa.event.listen(db.Model.metadata, "after_create", _install_triggers)
sa.event.listen(db.Model.metadata, "after_drop", _drop_postgresql_function)
