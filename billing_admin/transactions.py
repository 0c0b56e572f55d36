"""Starting a unit of work that will write.

Requests read before they write (the signed-in user, the plan to change). On PostgreSQL that is
fine. On SQLite, a transaction that began by reading and later writes fails at once with
"database is locked" if another connection wrote in between (its snapshot is stale; SQLite
does not wait in that case). So every service function that writes calls ``start_write()``
first: it ends the read-only transaction the request is in and begins the next one holding
SQLite's write lock (``BEGIN IMMEDIATE``, see sqlite.py), so concurrent writers queue for up to
the busy timeout instead of failing. On PostgreSQL it only starts a fresh transaction.
"""

from billing_admin.extensions import db


def start_write() -> None:
    session = db.session()
    if session.in_transaction():
        # By contract nothing is pending here; committing (not rolling back) keeps it so if
        # a caller did stage something.
        session.commit()
    session.connection(execution_options={"sqlite_begin_immediate": True})
