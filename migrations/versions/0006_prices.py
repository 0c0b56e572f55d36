"""Prices: a price history per plan, the price each subscription pays, counts by price.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Issue 12. Every plan gets its current price as the first row of ``billing_price``, in force
since the plan's last recorded price change (its audit log) or else since it was created; every
existing subscription points at it. ``billing_price_move`` records moves of subscriptions to the
current price (plans/price_moves.py). The counts table gains the price dimension (rebuilt, then
counted again from the rows). From here on the database's triggers keep both: a plan's new price
closes the open one and opens the next; counts follow every insert, update and delete.

The trigger DDL is a frozen copy of billing_admin/models/price.py and subscription_count.py as of
this revision; the downgrade restores migration 0003's counting triggers (also a frozen copy).
On SQLite, ``billing_subscription`` is rebuilt to make ``price_id`` NOT NULL with its foreign key;
its CHECK constraint, indexes and foreign keys are carried over (tests/test_migrations.py checks).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PRICES = "billing_price"
MOVES = "billing_price_move"
TABLE = "billing_plan_subscription_count"
IMMUTABLE = "a price is never edited: change the price of the plan to open a new one"
SQLITE_MOMENT = (
    "CASE WHEN NEW.updated_at > OLD.updated_at THEN NEW.updated_at "
    "ELSE CAST(strftime('%s', 'now') AS INTEGER) END"
)

PRICE_SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER billing_plan_price_open AFTER INSERT ON billing_plan
    BEGIN
        INSERT INTO {PRICES} (plan_id, amount, currency, interval, active_from, created_at)
        VALUES (NEW.id, NEW.price, NEW.currency, NEW.interval, NEW.created_at, NEW.created_at);
    END
    """,
    f"""
    CREATE TRIGGER billing_plan_price_change
    AFTER UPDATE OF price, currency, interval ON billing_plan
    WHEN OLD.price IS NOT NEW.price OR OLD.currency IS NOT NEW.currency
        OR OLD.interval IS NOT NEW.interval
    BEGIN
        UPDATE {PRICES} SET active_until = max(active_from, {SQLITE_MOMENT})
        WHERE plan_id = NEW.id AND active_until IS NULL;
        INSERT INTO {PRICES} (plan_id, amount, currency, interval, active_from, created_at)
        SELECT NEW.id, NEW.price, NEW.currency, NEW.interval, moment, moment
        FROM (SELECT max({SQLITE_MOMENT}, coalesce(max(active_until), 0)) AS moment
              FROM {PRICES} WHERE plan_id = NEW.id);
    END
    """,
    f"""
    CREATE TRIGGER billing_price_immutable BEFORE UPDATE ON {PRICES}
    WHEN NEW.plan_id IS NOT OLD.plan_id OR NEW.amount IS NOT OLD.amount
        OR NEW.currency IS NOT OLD.currency OR NEW.interval IS NOT OLD.interval
        OR NEW.active_from IS NOT OLD.active_from
        OR (OLD.active_until IS NOT NULL AND NEW.active_until IS NOT OLD.active_until)
    BEGIN
        SELECT RAISE(ABORT, '{IMMUTABLE}');
    END
    """,
)

PRICE_POSTGRESQL_TRIGGERS = (
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
            UPDATE {PRICES} SET active_until = greatest(active_from, moment)
            WHERE plan_id = NEW.id AND active_until IS NULL
            RETURNING active_until INTO closed;
            moment := coalesce(closed, moment);
        END IF;
        INSERT INTO {PRICES} (plan_id, amount, currency, interval, active_from, created_at)
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
    CREATE TRIGGER billing_price_immutable BEFORE UPDATE ON {PRICES}
    FOR EACH ROW EXECUTE FUNCTION billing_price_refuse_edit()
    """,
)

COUNT_SQLITE_TRIGGERS = (
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

COUNT_POSTGRESQL_TRIGGERS = (
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
)

# Migration 0003's counting triggers, without prices: what the downgrade puts back.
OLD_COUNT_SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER billing_subscription_count_insert AFTER INSERT ON billing_subscription
    BEGIN
        INSERT INTO {TABLE} (plan_id, status, count) VALUES (NEW.plan_id, NEW.status, 1)
        ON CONFLICT (plan_id, status) DO UPDATE SET count = count + 1;
    END
    """,
    f"""
    CREATE TRIGGER billing_subscription_count_delete AFTER DELETE ON billing_subscription
    BEGIN
        UPDATE {TABLE} SET count = count - 1
        WHERE plan_id = OLD.plan_id AND status = OLD.status;
    END
    """,
    f"""
    CREATE TRIGGER billing_subscription_count_update
    AFTER UPDATE OF plan_id, status ON billing_subscription
    WHEN OLD.plan_id IS NOT NEW.plan_id OR OLD.status IS NOT NEW.status
    BEGIN
        UPDATE {TABLE} SET count = count - 1
        WHERE plan_id = OLD.plan_id AND status = OLD.status;
        INSERT INTO {TABLE} (plan_id, status, count) VALUES (NEW.plan_id, NEW.status, 1)
        ON CONFLICT (plan_id, status) DO UPDATE SET count = count + 1;
    END
    """,
)

OLD_COUNT_POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION billing_subscription_count_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            INSERT INTO {TABLE} AS c (plan_id, status, count)
            SELECT plan_id, status, -count(*) FROM old_rows GROUP BY plan_id, status
            ON CONFLICT (plan_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO {TABLE} AS c (plan_id, status, count)
            SELECT plan_id, status, count(*) FROM new_rows GROUP BY plan_id, status
            ON CONFLICT (plan_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
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
)

COUNT_TRIGGERS = (
    "billing_subscription_count_insert",
    "billing_subscription_count_update",
    "billing_subscription_count_delete",
)
PRICE_TRIGGERS = (
    ("billing_plan_price_open", "billing_plan"),
    ("billing_plan_price_change", "billing_plan"),
    ("billing_price_immutable", PRICES),
)
PRICE_FIELDS = ("price", "currency", "interval")


def _dialect() -> str:
    return op.get_bind().dialect.name


def _run(statements) -> None:
    for statement in statements:
        op.execute(statement)


def _drop_count_triggers() -> None:
    for name in COUNT_TRIGGERS:
        if _dialect() == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON billing_subscription")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if _dialect() == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS billing_subscription_count_sync()")


def _create_count_table(with_price: bool) -> None:
    columns = [
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        *([sa.Column("price_id", sa.Integer(), nullable=False)] if with_price else []),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["billing_plan.id"],
            name=op.f("fk_billing_plan_subscription_count_plan_id_billing_plan"),
            ondelete="CASCADE",
        ),
    ]
    keys = ["plan_id", "status"]
    if with_price:
        columns.append(
            sa.ForeignKeyConstraint(
                ["price_id"],
                [f"{PRICES}.id"],
                name=op.f("fk_billing_plan_subscription_count_price_id_billing_price"),
                ondelete="CASCADE",
            )
        )
        keys = ["plan_id", "price_id", "status"]
    op.create_table(
        TABLE,
        *columns,
        sa.PrimaryKeyConstraint(*keys, name=op.f("pk_billing_plan_subscription_count")),
    )
    grouped = ", ".join(keys)
    op.execute(
        f"INSERT INTO {TABLE} ({grouped}, count) "
        f"SELECT {grouped}, count(*) FROM billing_subscription GROUP BY {grouped}"
    )


def _price_since() -> dict[str, int]:
    """Each plan's last recorded price change: when its current price came into force."""
    audit = sa.table(
        "billing_audit_log",
        sa.column("entity_type", sa.String),
        sa.column("entity_id", sa.String),
        sa.column("action", sa.String),
        sa.column("changes", sa.JSON),
        sa.column("created_at", sa.BigInteger),
        sa.column("id", sa.Integer),
    )
    query = (
        sa.select(audit.c.entity_id, audit.c.changes, audit.c.created_at)
        .where(audit.c.entity_type == "plan", audit.c.action == "plan_updated")
        .order_by(audit.c.created_at, audit.c.id)
    )
    since: dict[str, int] = {}
    for plan_id, changes, created_at in op.get_bind().execute(query):
        if isinstance(changes, dict) and any(name in changes for name in PRICE_FIELDS):
            since[plan_id] = created_at
    return since


def upgrade() -> None:
    _drop_count_triggers()
    op.drop_table(TABLE)

    op.create_table(
        PRICES,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=16), nullable=False),
        sa.Column("active_from", sa.BigInteger(), nullable=False),
        sa.Column("active_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["billing_plan.id"],
            name=op.f("fk_billing_price_plan_id_billing_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_price")),
        sa.UniqueConstraint("plan_id", "id", name="uq_billing_price_plan_id_id"),
    )
    op.create_index(
        "ix_billing_price_current",
        PRICES,
        ["plan_id"],
        unique=True,
        sqlite_where=sa.text("active_until IS NULL"),
        postgresql_where=sa.text("active_until IS NULL"),
    )
    bind = op.get_bind()
    since = _price_since()
    plans = bind.execute(
        sa.text("SELECT id, price, currency, interval, created_at FROM billing_plan")
    ).all()
    prices = sa.table(
        PRICES,
        *(sa.column(name) for name in ("plan_id", "currency", "interval", "active_from")),
        sa.column("amount", sa.Numeric(10, 2)),
        sa.column("created_at", sa.BigInteger),
    )
    if plans:
        bind.execute(
            sa.insert(prices),
            [
                {
                    "plan_id": plan_id,
                    "amount": amount,
                    "currency": currency,
                    "interval": interval,
                    "active_from": max(since.get(plan_id, created_at), created_at),
                    "created_at": max(since.get(plan_id, created_at), created_at),
                }
                for plan_id, amount, currency, interval, created_at in plans
            ],
        )

    op.add_column("billing_subscription", sa.Column("price_id", sa.Integer(), nullable=True))
    op.execute(
        f"UPDATE billing_subscription SET price_id = (SELECT p.id FROM {PRICES} p "
        "WHERE p.plan_id = billing_subscription.plan_id AND p.active_until IS NULL)"
    )
    with op.batch_alter_table("billing_subscription", schema=None) as batch_op:
        batch_op.alter_column("price_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_billing_subscription_price", PRICES, ["plan_id", "price_id"], ["plan_id", "id"]
        )
        batch_op.create_index("ix_billing_subscription_price", ["price_id", "id"])

    _create_count_table(with_price=True)
    op.create_table(
        MOVES,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("to_price_id", sa.Integer(), nullable=False),
        sa.Column("from_price_id", sa.Integer(), nullable=True),
        sa.Column("expected", sa.JSON(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed')", name=op.f("ck_billing_price_move_status")
        ),
        sa.ForeignKeyConstraint(
            ["from_price_id"],
            [f"{PRICES}.id"],
            name=op.f("fk_billing_price_move_from_price_id_billing_price"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["billing_plan.id"],
            name=op.f("fk_billing_price_move_plan_id_billing_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_price_id"],
            [f"{PRICES}.id"],
            name=op.f("fk_billing_price_move_to_price_id_billing_price"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_billing_price_move_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_price_move")),
    )
    op.create_index(
        "ix_billing_price_move_running",
        MOVES,
        ["plan_id"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )
    if _dialect() == "postgresql":
        _run(COUNT_POSTGRESQL_TRIGGERS)
        _run(PRICE_POSTGRESQL_TRIGGERS)
    elif _dialect() == "sqlite":
        _run(COUNT_SQLITE_TRIGGERS)
        _run(PRICE_SQLITE_TRIGGERS)


def downgrade() -> None:
    for name, table in PRICE_TRIGGERS:
        if _dialect() == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if _dialect() == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS billing_plan_price_sync()")
        op.execute("DROP FUNCTION IF EXISTS billing_price_refuse_edit()")
    _drop_count_triggers()
    op.drop_table(TABLE)
    op.drop_index("ix_billing_price_move_running", table_name=MOVES)
    op.drop_table(MOVES)

    with op.batch_alter_table("billing_subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_subscription_price")
        batch_op.drop_constraint("fk_billing_subscription_price", type_="foreignkey")
        batch_op.drop_column("price_id")
    op.drop_index("ix_billing_price_current", table_name=PRICES)
    op.drop_table(PRICES)

    # The plans' columns still hold their current price, which is what 0005 knew as the price.
    _create_count_table(with_price=False)
    if _dialect() == "postgresql":
        _run(OLD_COUNT_POSTGRESQL_TRIGGERS)
    elif _dialect() == "sqlite":
        _run(OLD_COUNT_SQLITE_TRIGGERS)
