"""PostgreSQL: a TRUNCATE of the subscriptions empties their counts too.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01

The counts of ``billing_plan_subscription_count`` (0006) are kept by insert, update and delete
triggers, which a ``TRUNCATE`` does not fire: after ``TRUNCATE billing_subscription`` every
plan kept its old counts, and every money figure read from them (found trying to break issue
13; nothing references the subscriptions, so the TRUNCATE is allowed). Now:

- ``billing_subscription_count_clear()``, run after ``TRUNCATE`` on ``billing_subscription``,
  empties the counts;
- counts left wrong by an earlier TRUNCATE are taken again from the subscriptions (one pass
  over them, about a second for a million; writes to them wait meanwhile).

Search's rows (0017) cannot be left behind the same way: the audit log references ``"user"``
and refuses TRUNCATE, so ``"user"`` cannot be truncated. SQLite has no TRUNCATE (a ``DELETE``
without ``WHERE`` fires the row triggers): nothing changes there. Downgrade drops the trigger
and its function. A frozen copy of billing_admin/models/subscription_count.py's DDL as of this
revision.
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

COUNTS = "billing_plan_subscription_count"
CLEAR = "billing_subscription_count_clear"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Writes to the subscriptions wait until the commit, so the recount misses none.
    op.execute(f"LOCK TABLE billing_subscription, {COUNTS} IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        f"""
        CREATE FUNCTION {CLEAR}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM {COUNTS};
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        f"CREATE TRIGGER {CLEAR} AFTER TRUNCATE ON billing_subscription "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {CLEAR}()"
    )
    op.execute(f"DELETE FROM {COUNTS}")
    op.execute(
        f"""
        INSERT INTO {COUNTS} (plan_id, price_id, status, count)
        SELECT plan_id, price_id, status, count(*) FROM billing_subscription
        GROUP BY plan_id, price_id, status
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {CLEAR} ON billing_subscription")
    op.execute(f"DROP FUNCTION IF EXISTS {CLEAR}()")
