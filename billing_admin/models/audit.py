"""The audit trail: one row a change, append-only and hash-chained.

- Append-only: triggers (below, and migration 0011) make the database refuse ``UPDATE``,
  ``DELETE`` (and on PostgreSQL ``TRUNCATE``) of audit rows, whoever asks. The one change let
  through is the user foreign key's own ``ON DELETE SET NULL`` when a user row is deleted:
  ``user_id`` is a link, not history (``actor`` keeps who acted, in words, and is hashed).
- Tamper-evident: every new row gets ``prev_hash`` (the previous row's ``entry_hash``) and
  ``entry_hash`` = SHA-256 of its canonical form; models/audit_chain.py fills them in at flush
  time, for every ``AuditLog`` added through any session.
"""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db

PLAN_ACTIONS = (
    "plan_created",
    "plan_updated",
    "plan_deleted",
    "plan_activated",
    "plan_deactivated",
    "plan_duplicated",
    "plan_subscriptions_moved",
)
# An admin's action on one subscription (entity_type "subscription"; issue 13,
# subscriptions/actions.py).
SUBSCRIPTION_ACTIONS = (
    "subscription_plan_changed",
    "subscription_canceled",
    "subscription_cancel_scheduled",
    "subscription_renewal_resumed",
    "subscription_paused",
    "subscription_unpaused",
    "subscription_extended",
)
TABLE = "billing_audit_log"
# Columns outside the hash: the link to the user, which the database itself clears when the
# user is deleted, and the hash itself. Every other column, including any added later, is hashed.
UNHASHED_COLUMNS = frozenset({"user_id", "entry_hash"})
# Security events (entity_type "account", "api_token" or "sign_in"; docs/security.md).
SECURITY_ACTIONS = (
    "sign_in_succeeded",
    "sign_in_failed",
    "sign_in_throttled",
    "signed_out",
    "sessions_ended",
    "password_changed",
    "second_factor_enrolled",
    "second_factor_reset",
    "recovery_code_used",
    "account_created",
    "account_changed",
    "account_disabled",
    "account_enabled",
    "token_created",
    "token_revoked",
    "revoked_token_used",
    "access_denied",
)
AUDIT_ACTIONS = PLAN_ACTIONS + SUBSCRIPTION_ACTIONS + SECURITY_ACTIONS


class AuditLog(db.Model):
    """One change to one entity. ``changes`` is shaped ``{"price": {"old": "490.00", "new": ...}}``.

    ``actor`` names who acted in words that outlive the user row (an email, or
    ``flask seed-plans`` for the command line); ``user_id`` links to the user when there is one.
    The audit trail keeps no foreign key to the plan: it must survive the plan's deletion.
    """

    __tablename__ = TABLE
    __table_args__ = (
        sa.Index("ix_billing_audit_log_entity", "entity_type", "entity_id", "created_at"),
    )

    # 1, 2, 3...: the chain gives each entry the id after its predecessor's (audit_chain.py),
    # so two writers that both read the same predecessor collide on the primary key instead of
    # forking the chain.
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(sa.String(255))
    action: Mapped[str] = mapped_column(sa.String(32))
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    description: Mapped[str | None] = mapped_column(sa.Text)
    changes: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    audit_metadata: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch, index=True)
    # Hex SHA-256. The first entry's predecessor is GENESIS_HASH (64 zeros).
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64))

    def __repr__(self) -> str:
        return f"<AuditLog {self.action} {self.entity_type}:{self.entity_id}>"


APPEND_ONLY_MESSAGE = "billing_audit_log is append-only"
APPEND_LOCK_KEY = "billing_audit_log:append"


def sqlite_append_only_triggers(columns: list[str]) -> tuple[str, ...]:
    """SQLite has no row-to-JSON comparison: the UPDATE trigger names every column, so a column
    added later needs these triggers made again (tests/test_audit_append_only.py checks)."""
    unchanged = " AND ".join(f"NEW.{name} IS OLD.{name}" for name in columns if name != "user_id")
    return (
        f"""
        CREATE TRIGGER billing_audit_log_no_update BEFORE UPDATE ON {TABLE}
        WHEN NOT (OLD.user_id IS NOT NULL AND NEW.user_id IS NULL AND {unchanged})
        BEGIN
            SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: UPDATE refused');
        END
        """,
        f"""
        CREATE TRIGGER billing_audit_log_no_delete BEFORE DELETE ON {TABLE}
        BEGIN
            SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: DELETE refused');
        END
        """,
    )


# Compares whole rows as JSON, so a column added later is covered without a new trigger.
# restrict_violation (23001): drivers raise it as an integrity error, as SQLite's RAISE(ABORT).
POSTGRESQL_APPEND_ONLY_TRIGGERS = (
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
            MESSAGE = '{APPEND_ONLY_MESSAGE}: ' || TG_OP || ' refused',
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
    # The append lock and the newest entry in one round trip (audit_chain.py). VOLATILE: the
    # SELECT takes a fresh snapshot after the lock is granted, so it sees what the lock's
    # previous holder committed.
    f"""
    CREATE FUNCTION billing_audit_log_lock_tail(OUT tail_id integer, OUT tail_hash varchar)
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('{APPEND_LOCK_KEY}', 0));
        SELECT id, entry_hash INTO tail_id, tail_hash FROM {TABLE} ORDER BY id DESC LIMIT 1;
    END
    $$
    """,
)


def _install_append_only_triggers(target: sa.Table, connection, **kw) -> None:
    if connection.dialect.name == "sqlite":
        statements = sqlite_append_only_triggers([column.name for column in target.columns])
    elif connection.dialect.name == "postgresql":
        statements = POSTGRESQL_APPEND_ONLY_TRIGGERS
    else:
        statements = ()
    for statement in statements:
        connection.exec_driver_sql(statement)


def _drop_postgresql_function(target: sa.Table, connection, **kw) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS billing_audit_log_append_only()")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS billing_audit_log_lock_tail()")


# Tables made from the models (tests) get the same triggers as the migrated schema.
sa.event.listen(AuditLog.__table__, "after_create", _install_append_only_triggers)
sa.event.listen(AuditLog.__table__, "after_drop", _drop_postgresql_function)
