"""The audit trail becomes append-only and hash-chained; verifications are recorded.

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-30

- ``billing_audit_log`` gains ``prev_hash`` and ``entry_hash`` (NOT NULL). Entries already
  there are chained in id order, with the canonical form of models/audit_chain.py (a frozen
  copy below: every column but ``user_id`` and ``entry_hash``, read from the table as it is
  now, so columns earlier revisions added are hashed too).
- Triggers make the database refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL) of audit rows,
  except the user foreign key's ON DELETE SET NULL (a frozen copy of models/audit.py's); on
  PostgreSQL, billing_audit_log_lock_tail() takes the append lock and reads the newest entry in
  one round trip.
- ``billing_audit_verification`` records each ``flask audit verify``.

Downgrade drops the triggers first, then the hashes (the entries themselves are kept). A later
migration that must rewrite or delete audit rows has to drop these triggers and make them
again, and re-chain the rows it changed; one that inserts audit rows with SQL must chain them.
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "billing_audit_log"
UNHASHED = ("user_id", "entry_hash")
GENESIS_HASH = "0" * 64
BATCH = 5_000
MESSAGE = "billing_audit_log is append-only"

POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION billing_audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF OLD.user_id IS NOT NULL AND NEW.user_id IS NULL
               AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
                RETURN NEW;  -- the user foreign key's ON DELETE SET NULL
            END IF;
        END IF;
        RAISE EXCEPTION USING
            MESSAGE = '{MESSAGE}: ' || TG_OP || ' refused',
            ERRCODE = 'restrict_violation';
    END
    $$
    """,
    f"""
    CREATE TRIGGER billing_audit_log_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION billing_audit_log_append_only()
    """,
    f"""
    CREATE TRIGGER billing_audit_log_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION billing_audit_log_append_only()
    """,
    f"""
    CREATE FUNCTION billing_audit_log_lock_tail(OUT tail_id integer, OUT tail_hash varchar)
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('billing_audit_log:append', 0));
        SELECT id, entry_hash INTO tail_id, tail_hash FROM {TABLE} ORDER BY id DESC LIMIT 1;
    END
    $$
    """,
)


def sqlite_triggers(columns: list[str]) -> tuple[str, ...]:
    unchanged = " AND ".join(f"NEW.{name} IS OLD.{name}" for name in columns if name != "user_id")
    return (
        f"""
        CREATE TRIGGER billing_audit_log_no_update BEFORE UPDATE ON {TABLE}
        WHEN NOT (OLD.user_id IS NOT NULL AND NEW.user_id IS NULL AND {unchanged})
        BEGIN
            SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused');
        END
        """,
        f"""
        CREATE TRIGGER billing_audit_log_no_delete BEFORE DELETE ON {TABLE}
        BEGIN
            SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused');
        END
        """,
    )


def entry_hash(values: dict) -> str:
    fields = {name: value for name, value in values.items() if value is not None}
    canonical = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain_existing_entries(bind) -> None:
    """Chain the entries there are, in id order, BATCH at a time (constant memory)."""
    table = sa.Table(TABLE, sa.MetaData(), autoload_with=bind)
    hashed = [column for column in table.columns if column.name not in UNHASHED]
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("entry_id"))
        .values(prev_hash=sa.bindparam("new_prev"), entry_hash=sa.bindparam("new_hash"))
    )
    previous_id, previous_hash = 0, GENESIS_HASH
    while True:
        rows = bind.execute(
            sa.select(*hashed).where(table.c.id > previous_id).order_by(table.c.id).limit(BATCH)
        ).all()
        updates = []
        for row in rows:
            values = {**row._mapping, "prev_hash": previous_hash}
            new_hash = entry_hash(values)
            updates.append({"entry_id": row.id, "new_prev": previous_hash, "new_hash": new_hash})
            previous_id, previous_hash = row.id, new_hash
        if updates:
            bind.execute(update, updates)
        if len(rows) < BATCH:
            return


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table(TABLE) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    chain_existing_entries(bind)
    # SQLite: a batch "move and copy" of the audit table, which has no triggers yet.
    with op.batch_alter_table(TABLE) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
    op.create_table(
        "billing_audit_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("last_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("last_entry_hash", sa.String(length=64), nullable=True),
        sa.Column("broken_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("problem", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_audit_verification")),
    )
    if bind.dialect.name == "postgresql":
        statements = POSTGRESQL_TRIGGERS
    elif bind.dialect.name == "sqlite":
        columns = [column["name"] for column in sa.inspect(bind).get_columns(TABLE)]
        statements = sqlite_triggers(columns)
    else:
        statements = ()
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    # The triggers first: without them the columns can be dropped (and, from here down, audit
    # rows deleted by older downgrades).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS billing_audit_log_append_only ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS billing_audit_log_no_truncate ON {TABLE}")
        op.execute("DROP FUNCTION IF EXISTS billing_audit_log_append_only()")
        op.execute("DROP FUNCTION IF EXISTS billing_audit_log_lock_tail()")
    else:
        op.execute("DROP TRIGGER IF EXISTS billing_audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS billing_audit_log_no_delete")
    op.drop_table("billing_audit_verification")
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): no table rebuild.
    op.execute(f"ALTER TABLE {TABLE} DROP COLUMN entry_hash")
    op.execute(f"ALTER TABLE {TABLE} DROP COLUMN prev_hash")
