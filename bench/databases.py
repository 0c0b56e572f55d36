"""Each benchmark's own database, and the app over it: a SQLite file under ``bench/.data/``, or a database on the
local PostgreSQL (127.0.0.1:5432, trust auth), made on first use and made again on ``rebuild``.
The data sets take minutes to build, so scripts keep them between runs."""

import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

DATA = Path(__file__).resolve().parent / ".data"
# The server the PostgreSQL runs use (any database on it to connect to first); e.g. a cluster
# with production settings: BENCH_PG_ADMIN_URL=postgresql+psycopg://postgres@127.0.0.1:5433/postgres
PG_ADMIN_URL = os.environ.get(
    "BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def sqlite_url(filename: str, rebuild: bool) -> str:
    """``sqlite:///bench/.data/<filename>``; on ``rebuild`` the file (and its WAL) deleted first."""
    path = DATA / filename
    DATA.mkdir(parents=True, exist_ok=True)
    if rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def postgresql_url(database: str, rebuild: bool) -> str:
    """The URL of PostgreSQL database ``database``, created if missing; on ``rebuild`` dropped
    (connections closed) and created again."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        )
        if exists and rebuild:
            connection.exec_driver_sql(f'DROP DATABASE "{database}" WITH (FORCE)')
            exists = False
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    admin.dispose()
    return sa.make_url(PG_ADMIN_URL).set(database=database).render_as_string(False)


def database_url(engine: str, *, sqlite_file: str, pg_database: str, rebuild: bool) -> str:
    """A benchmark's database on ``engine`` ("sqlite" or "postgresql")."""
    if engine == "sqlite":
        return sqlite_url(sqlite_file, rebuild)
    return postgresql_url(pg_database, rebuild)


def bench_app(url: str):
    """The app over ``url`` as production runs it (host checks on, logs at WARNING, its objects
    frozen out of the garbage collector's sight as gunicorn.conf.py does), with the
    second factor off for the benchmark's own sign-in (bench/subscribers.py signed_in_client)."""
    os.environ.setdefault("SECRET_KEY", "benchmark")
    import gc

    from billing_admin import create_app

    app = create_app(
        {
            "TRUSTED_HOSTS": ["localhost", "127.0.0.1"],
            "REQUIRE_SECOND_FACTOR": False,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "benchmark",
            "LOG_LEVEL": "WARNING",
        }
    )
    gc.freeze()  # as gunicorn.conf.py's post_worker_init does in each worker
    return app


ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "benchmark password"


def build(app, seed, *, total: int) -> bool:
    """Migrate ``app``'s database to the head; when it does not hold ``total`` subscriptions yet,
    seed every plan (annual and promo too), call ``seed()`` (which adds the subscriptions, e.g.
    with ``seed_demo``), make the benchmark's admin (ADMIN_EMAIL / ADMIN_PASSWORD) and gather the
    planner's statistics. True when it built, False when the data set was already there."""
    from flask_migrate import upgrade

    from billing_admin.auth.service import create_or_promote_admin
    from billing_admin.extensions import db
    from billing_admin.models import Subscription
    from billing_admin.plans.seeding import seed_plans

    with app.app_context():
        started = time.perf_counter()
        upgrade()
        if time.perf_counter() - started > 1:  # a migration ran on the data set
            print(f"migrated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        if db.session.scalar(sa.select(sa.func.count(Subscription.id))) == total:
            db.session.rollback()
            return False
        print("building the data set (once)...", file=sys.stderr)
        started = time.perf_counter()
        db.session.rollback()
        seed_plans(include_annual=True, include_promo=True)
        seed()
        create_or_promote_admin(ADMIN_EMAIL, ADMIN_PASSWORD, "Bench")
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        db.session.remove()
        return True
