"""Benchmark: a plan's subscriber page at a million subscriptions (issue 5).

Builds (once, then reuses) a database with 1,000,000 subscriptions, 500,000 of them on plan
``pro``, and measures, for the first, a middle and the last page at page_size 20 and 100, with
and without ``status=active``:

- the JSON endpoint and the HTML page, through the app (Flask test client, in process);
- (a) the original system's approach: load every subscription of the plan, slice the page, then
  one query per row for its user (first page only: it takes seconds);
- (b) the bare SQL the page needs (total, anchor, page) run directly on the driver;
- peak Python memory of one request (tracemalloc), on the 500,000-subscriber plan and on a small
  one, first and last page.

Usage (from the project folder, with the project's .venv):

    .venv/bin/python bench/subscribers.py --engine sqlite
    .venv/bin/python bench/subscribers.py --engine postgresql   # needs the local PostgreSQL

Loopback only, in process, bounded: a fixed number of repetitions per case. The data lives in
bench/.data/ (SQLite) or the PostgreSQL database billing_bench; --rebuild makes it again.
"""

import argparse
import os
import re
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import databases  # noqa: E402

TOTAL = 1_000_000
HOT_PLAN = "pro"
HOT_ROWS = 500_000
SMALL_PLAN = "business_annual"
REPEAT = 40
PASSWORD = databases.ADMIN_PASSWORD


def database_url(engine: str, rebuild: bool) -> str:
    return databases.database_url(
        engine, sqlite_file="bench.sqlite3", pg_database="billing_bench", rebuild=rebuild
    )


def build(app) -> None:
    """The data set: 500,000 subscriptions on ``pro``, 500,000 over the other plans."""
    from billing_admin.subscribers.demo import seed_demo

    def seed():
        seed_demo(HOT_ROWS, random_seed=1, plan_weights={HOT_PLAN: 1})
        others = {"free": 8, "starter": 4, "business": 2, "unlimited": 1, "starter_annual": 1,
                  "pro_annual": 1, SMALL_PLAN: 0.05, "newyear_2025": 1}  # fmt: skip
        seed_demo(TOTAL - HOT_ROWS, random_seed=2, plan_weights=others)

    databases.build(app, seed, total=TOTAL)


def timings(run, repeat: int = REPEAT) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``run()`` over ``repeat`` runs, after two warm-up runs."""
    for _ in range(2):
        run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def signed_in_client(app):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(
        "/login", data={"email": databases.ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code
    return client


def original_first_page(app, plan_id: str, page_size: int):
    """The original system: every subscription of the plan into memory, slice, a query a row."""
    from billing_admin.extensions import db
    from billing_admin.models import Subscription, User

    def run():
        with app.app_context():
            subs = list(
                db.session.scalars(
                    sa.select(Subscription)
                    .where(Subscription.plan_id == plan_id)
                    .order_by(Subscription.created_at.desc())
                )
            )
            items = []
            for sub in subs[0:page_size]:
                user = db.session.scalars(sa.select(User).where(User.id == sub.user_id)).first()
                if user:
                    items.append((user.id, user.email, user.name, sub.status, sub.created_at))
            db.session.remove()
            return len(subs), items

    return run


def bare_sql(app, plan_id: str, page: int, page_size: int, status: str | None):
    """The statements a page needs, hand-written, on the driver directly: total, anchor, page."""
    from billing_admin.extensions import db

    with app.app_context():
        engine = db.engine
    status_sql = " AND status = :status" if status else ""
    join_status = " AND s.status = :status" if status else ""

    def run():
        with engine.connect() as conn:
            params = {"plan": plan_id, "status": status}
            total = conn.execute(
                sa.text(
                    "SELECT coalesce(sum(count), 0) FROM billing_plan_subscription_count "
                    f"WHERE plan_id = :plan{status_sql}"
                ),
                params,
            ).scalar()
            offset = (page - 1) * page_size
            after = total - offset - page_size
            descending = offset <= after
            skip = offset if descending else max(0, after)
            direction = "DESC" if descending else "ASC"
            anchor = conn.execute(
                sa.text(
                    f"SELECT created_at, id FROM billing_subscription WHERE plan_id = :plan{status_sql} "
                    f"ORDER BY created_at {direction}, id {direction} LIMIT 1 OFFSET :skip"
                ),
                {**params, "skip": skip},
            ).one()
            compare = "<=" if descending else ">="
            rows = conn.execute(
                sa.text(
                    "SELECT s.id, s.user_id, u.email, u.name, s.status, s.created_at, "
                    "s.current_period_end, s.cancel_at_period_end FROM billing_subscription s "
                    f'JOIN "user" u ON u.id = s.user_id WHERE s.plan_id = :plan{join_status} '
                    f"AND (s.created_at, s.id) {compare} (:c, :i) "
                    f"ORDER BY s.created_at {direction}, s.id {direction} LIMIT :n"
                ),
                {
                    **params,
                    "c": anchor[0],
                    "i": anchor[1],
                    "n": page_size if descending else page_size + min(0, after),
                },
            ).all()
            return total, rows

    return run


def peak_memory_kib(run) -> float:
    run()
    tracemalloc.start()
    tracemalloc.reset_peak()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rebuild", action="store_true", help="make the data set again")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "benchmark")
    from billing_admin.extensions import db
    from billing_admin.models import PlanSubscriptionCount

    url = database_url(args.engine, args.rebuild)
    app = databases.bench_app(url)
    build(app)
    with app.app_context():
        hot_total = db.session.scalar(
            sa.select(sa.func.sum(PlanSubscriptionCount.count)).where(
                PlanSubscriptionCount.plan_id == HOT_PLAN
            )
        )
        active_total = db.session.scalar(
            sa.select(PlanSubscriptionCount.count).where(
                PlanSubscriptionCount.plan_id == HOT_PLAN, PlanSubscriptionCount.status == "active"
            )
        )
    client = signed_in_client(app)

    print(f"## {args.engine}: {TOTAL:,} subscriptions, {hot_total:,} on `{HOT_PLAN}` "
          f"({active_total:,} active); {args.repeat} runs a case\n")  # fmt: skip
    print(
        "| case | JSON p50 | JSON p95 | HTML p50 | HTML p95 | bare SQL p50 | bare SQL p95 | JSON p95 ÷ SQL p95 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    results = {}
    for status in (None, "active"):
        total = active_total if status else hot_total
        for page_size in (20, 100):
            last = -(-total // page_size)
            for label, page in (("first", 1), ("middle", last // 2), ("last", last)):
                query = f"page={page}&page_size={page_size}" + (
                    f"&status={status}" if status else ""
                )
                api = f"/api/v1/admin/billing/plans/{HOT_PLAN}/subscribers?{query}"
                html = f"/admin/plans/{HOT_PLAN}/subscribers?{query}"
                assert client.get(api).status_code == 200
                json_p = timings(lambda api=api: client.get(api), args.repeat)
                html_p = timings(lambda html=html: client.get(html), args.repeat)
                sql_p = timings(bare_sql(app, HOT_PLAN, page, page_size, status), args.repeat)
                name = f"{label} page ({page:,}), size {page_size}" + (
                    ", status=active" if status else ""
                )
                results[(status, page_size, label)] = (json_p, html_p, sql_p)
                print(f"| {name} | {json_p[0]:.1f} | {json_p[1]:.1f} | {html_p[0]:.1f} | {html_p[1]:.1f} | "
                      f"{sql_p[0]:.1f} | {sql_p[1]:.1f} | {json_p[1] / sql_p[1]:.1f}× |")  # fmt: skip

    print("\nThe original's approach (a), first page:\n")
    print("| case | original p50 | original p95 | ours JSON p95 | speed-up at p95 |")
    print("|---|---:|---:|---:|---:|")
    for page_size in (20, 100):
        original = timings(original_first_page(app, HOT_PLAN, page_size), repeat=3)
        ours = results[(None, page_size, "first")][0]
        print(f"| first page, size {page_size} | {original[0]:.0f} | {original[1]:.0f} | "
              f"{ours[1]:.1f} | {original[1] / ours[1]:.0f}× |")  # fmt: skip

    print("\nPeak Python memory of one JSON request (tracemalloc):\n")
    print("| plan | subscribers | first page, size 100 | last page, size 100 |")
    print("|---|---:|---:|---:|")
    with app.app_context():
        small_total = db.session.scalar(
            sa.select(sa.func.sum(PlanSubscriptionCount.count)).where(
                PlanSubscriptionCount.plan_id == SMALL_PLAN
            )
        )
    for plan_id, total in ((HOT_PLAN, hot_total), (SMALL_PLAN, small_total)):
        last = -(-total // 100)
        first_kib = peak_memory_kib(
            lambda p=plan_id: client.get(
                f"/api/v1/admin/billing/plans/{p}/subscribers?page_size=100"
            )
        )
        last_kib = peak_memory_kib(
            lambda p=plan_id, n=last: client.get(
                f"/api/v1/admin/billing/plans/{p}/subscribers?page_size=100&page={n}"
            )
        )
        print(f"| `{plan_id}` | {total:,} | {first_kib:.0f} KiB | {last_kib:.0f} KiB |")


if __name__ == "__main__":
    main()
