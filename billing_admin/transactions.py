"""Starting a unit of work that will write, and serialising work on one key.

Requests read before they write (the signed-in user, the plan to change). On PostgreSQL that is
fine. On SQLite, a transaction that began by reading and later writes fails at once with
"database is locked" if another connection wrote in between (its snapshot is stale; SQLite
does not wait in that case). So every service function that writes calls ``start_write()``
first: it ends the read-only transaction the request is in and begins the next one holding
SQLite's write lock (``BEGIN IMMEDIATE``, see sqlite.py), so concurrent writers queue for up to
the busy timeout instead of failing. On PostgreSQL it only starts a fresh transaction.
"""

import sqlalchemy as sa

from billing_admin.extensions import db


def start_write() -> None:
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("start_write() must begin a unit of work, not join one")
    if session.in_transaction():
        session.rollback()  # only reads happened: nothing to keep
    session.connection(execution_options={"sqlite_begin_immediate": True})


def lock_for(key: str) -> None:
    """Hold a lock on ``key`` until the transaction ends, so work on one key (one account's
    sign-ins) runs one at a time across every worker. PostgreSQL: a transaction-level advisory
    lock. SQLite: ``start_write()`` already made the whole transaction exclusive."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )
