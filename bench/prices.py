"""Benchmark: money figures and the move to the current price at a million subscriptions (issue 12).

Builds (once, then reuses) a database of 1,000,000 subscriptions: 500,000 on plan ``pro``, spread
over three prices (200,000 on the first, 150,000 on the second, 150,000 on the current one, every
status but canceled, so all 500,000 can be moved), and 500,000 on the other plans (demo mix of
statuses). Then it measures, through the app in process:

- p50/p95 of the dashboard (``/admin/``), the plan list (``/admin/plans``), the plan page
  (``/admin/plans/pro``, with its price history) and the API's plan list, with each page's SQL
  statement count; targets: dashboard p95 ≤ 200 ms, plan list p95 ≤ 100 ms;
- beside them, in the same run, the figures query of before issue 12 (counts by plan and status
  × the plan's current price) and of now (counts by price joined with the prices);
- the move of 500,000 subscriptions to a new current price (``--moves`` runs; each run first
  opens a new price, so the bench can be run again on the same data; on PostgreSQL the table is
  vacuumed first, as autovacuum would have done since the last run); target ≤ 60 s.

    .venv/bin/python bench/prices.py --engine sqlite
    .venv/bin/python bench/prices.py --engine postgresql    # the local PostgreSQL, 127.0.0.1

Loopback only, in process, bounded by the repetition counts. Data: bench/.data/prices.sqlite3, or
the PostgreSQL database ``billing_bench_prices``; ``--rebuild`` makes it again.
"""

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import databases  # noqa: E402
from bench.subscribers import signed_in_client, timings  # noqa: E402

TOTAL = 1_000_000
HOT_PLAN = "pro"
MOVABLE = {"active": 80, "trialing": 8, "past_due": 6, "paused": 6}
PAGES = ("/admin/", "/admin/plans", f"/admin/plans/{HOT_PLAN}", "/api/v1/admin/billing/plans")


def database_url(engine: str, rebuild: bool) -> str:
    return databases.database_url(
        engine, sqlite_file="prices.sqlite3", pg_database="billing_bench_prices", rebuild=rebuild
    )


def set_price(plan_id: str, amount: Decimal) -> None:
    """A new price for the plan, through the plan service (as the form saves it)."""
    from billing_admin.audit.service import Actor
    from billing_admin.extensions import db
    from billing_admin.plans import service

    db.session.rollback()
    plan = service.get_plan(plan_id)
    spec = service.spec_of(plan)
    token = service.price_token(amount, spec.currency, spec.interval)
    from dataclasses import replace

    service.update_plan(
        plan_id,
        replace(spec, price=amount),
        expected_version=plan.version,
        actor=Actor("bench"),
        confirmed_price=token,
    )


def build(app) -> None:
    """The data set: 500,000 subscriptions on ``pro`` over three prices, 500,000 on the others."""
    from billing_admin.subscribers.demo import seed_demo

    def seed():
        hot = {HOT_PLAN: 1}
        seed_demo(200_000, random_seed=1, plan_weights=hot, status_weights=MOVABLE)
        set_price(HOT_PLAN, Decimal("1590.00"))
        seed_demo(150_000, random_seed=2, plan_weights=hot, status_weights=MOVABLE)
        set_price(HOT_PLAN, Decimal("1690.00"))
        seed_demo(150_000, random_seed=3, plan_weights=hot, status_weights=MOVABLE)
        others = {"free": 8, "starter": 4, "business": 2, "unlimited": 1, "starter_annual": 1,
                  "pro_annual": 1, "business_annual": 0.05, "newyear_2025": 1}  # fmt: skip
        seed_demo(TOTAL - 500_000, random_seed=4, plan_weights=others)

    databases.build(app, seed, total=TOTAL)


def figures_queries(app):
    """The figures' SQL before issue 12 (counts by plan and status, × the plan's price in
    Python) and now (counts by price and status, joined with the prices), on the driver."""
    from billing_admin.extensions import db

    with app.app_context():
        engine = db.engine
    before = sa.text(
        "SELECT c.plan_id, c.status, sum(c.count), p.price, p.interval "
        "FROM billing_plan_subscription_count c JOIN billing_plan p ON p.id = c.plan_id "
        "WHERE c.count > 0 GROUP BY c.plan_id, c.status, p.price, p.interval"
    )
    now = sa.text(
        "SELECT c.plan_id, c.price_id, c.status, c.count, p.amount, p.currency, p.interval "
        "FROM billing_plan_subscription_count c JOIN billing_price p ON p.id = c.price_id "
        "WHERE c.count > 0"
    )

    def run(statement):
        def go():
            with engine.connect() as conn:
                return conn.execute(statement).all()

        return go

    return run(before), run(now)


def move_once(app, amount: Decimal) -> tuple[float, int]:
    """Open a new price on the hot plan and move every subscription to it: seconds, moved."""
    from billing_admin.audit.service import Actor
    from billing_admin.extensions import db
    from billing_admin.plans import price_moves

    with app.test_request_context():
        unfinished = price_moves.running_move(HOT_PLAN)
        if unfinished is not None:  # an earlier run stopped half-way: finish it, untimed
            price_moves.run_move(unfinished.id)
        set_price(HOT_PLAN, amount)
        if db.engine.dialect.name == "postgresql":
            # As autovacuum would have by now: the last run's 500,000 dead row versions gone.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE billing_subscription")
        preview = price_moves.preview_move(HOT_PLAN)
        db.session.rollback()
        started = time.perf_counter()
        move = price_moves.start_move(
            HOT_PLAN, from_price_id=None, fingerprint=preview.fingerprint, actor=Actor("bench")
        )
        move = price_moves.run_move(move.id)
        elapsed = time.perf_counter() - started
        moved = move.moved_total
        db.session.remove()
    return elapsed, moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--moves", type=int, default=2, help="timed moves of 500,000")
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "benchmark")
    from billing_admin.extensions import db
    from billing_admin.models import Price
    from tests.helpers import QueryCounter

    app = databases.bench_app(database_url(args.engine, args.rebuild))
    build(app)
    with app.app_context():
        engine = db.engine
        prices = db.session.scalar(
            sa.select(sa.func.count()).select_from(Price).where(Price.plan_id == HOT_PLAN)
        )
        db.session.remove()
    client = signed_in_client(app)
    print(f"## {args.engine}: 1,000,000 subscriptions, 500,000 on `{HOT_PLAN}` ({prices} prices)")
    print(f"\n{args.repeat} runs a page, after two warm-up runs; milliseconds.\n")
    print("| page | p50 | p95 | SQL statements |")
    print("|---|---:|---:|---:|")
    for path in PAGES:
        assert client.get(path).status_code == 200, path
        with QueryCounter(engine) as counter:
            client.get(path)
        p50, p95 = timings(lambda path=path: client.get(path), args.repeat)
        print(f"| `{path}` | {p50:.1f} | {p95:.1f} | {counter.count} |")

    before, now = figures_queries(app)
    b50, b95 = timings(before, args.repeat)
    n50, n95 = timings(now, args.repeat)
    print("\n| figures query | p50 | p95 |")
    print("|---|---:|---:|")
    print(f"| before issue 12: by plan × the plan's price | {b50:.2f} | {b95:.2f} |")
    print(f"| now: by price, joined with the prices | {n50:.2f} | {n95:.2f} |")
    print(f"| ratio now ÷ before (p95) | | {n95 / b95:.1f}× |")

    print("\n| move to a new price | seconds | subscriptions moved |")
    print("|---|---:|---:|")
    seconds = []
    for run in range(args.moves):
        with app.app_context():
            top = db.session.scalar(
                sa.select(sa.func.max(Price.amount)).where(Price.plan_id == HOT_PLAN)
            )
            db.session.remove()
        elapsed, moved = move_once(app, Decimal(top) + 100)
        seconds.append(elapsed)
        print(f"| run {run + 1} | {elapsed:.1f} | {moved:,} |")
    if seconds:
        print(f"| median | {statistics.median(seconds):.1f} | |")


if __name__ == "__main__":
    main()
