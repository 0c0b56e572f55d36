"""Benchmark: search by email or name at a million subscriptions (issue 13).

Runs on bench/subscribers.py's data set (built once by either script, then reused): 1,000,000
demo subscriptions, 500,000 of them on ``pro`` (``flask seed-demo`` data: ``demoN@example.com``,
names from short lists of first and last names).

Measured, through the app (Flask test client, in process, signed in), p50 and p95 of the HTML
page for each query, within ``pro`` (``/admin/plans/pro/subscribers``) and across plans
(``/admin/subscribers``), with and without ``status=active``:

- an exact email, a 6-character fragment of an email (~111 users) and of a name (~1 in 14
  users), a 3-character fragment of an email (digits: ~3% of users) and of a name ("ova": ~1 in
  3 users), and a string that matches nothing;
- beside each, in the same run, the same search done the old way: the statements the page ran
  before issue 13 (count, anchor, page with ``lower(email) LIKE '%q%' OR lower(name) LIKE
  '%q%'``), on the app's session, fewer repetitions (each takes seconds).

Usage (from the project folder, with the project's .venv):

    .venv/bin/python bench/search.py --engine sqlite
    .venv/bin/python bench/search.py --engine postgresql   # needs the local PostgreSQL

Bounded: a fixed number of repetitions per case. Data: bench/.data/bench.sqlite3 or the
PostgreSQL database billing_bench; --rebuild makes it again.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import databases  # noqa: E402
from bench.subscribers import (  # noqa: E402
    HOT_PLAN,
    HOT_ROWS,
    TOTAL,
    build,
    database_url,
    signed_in_client,
)

REPEAT = 20
OLD_REPEAT = 3
QUERIES = (
    ("exact email", "demo123457@example.com"),
    ("6-char fragment of an email", "mo4321"),
    ("6-char fragment of a name", "kuznet"),
    ("3-char fragment of an email", "482"),
    ("3-char fragment of a name", "ova"),
    ("no match", "zqxjw"),
)


def timings(run, repeat: int, warm: int = 2) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``run()`` over ``repeat`` runs, after warm-up runs."""
    for _ in range(warm):
        run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def old_way(app, plan_id: str | None, status: str | None, query: str):
    """What the subscriber page ran before issue 13 for a search: count the matches, find the
    first page's anchor, read the page (lower(...) LIKE '%q%' on every user)."""
    from billing_admin.extensions import db
    from billing_admin.models import Subscription, User

    conditions = [
        sa.or_(
            User.email.icontains(query, autoescape=True),
            User.name.icontains(query, autoescape=True),
        )
    ]
    if plan_id:
        conditions.append(Subscription.plan_id == plan_id)
    if status:
        conditions.append(Subscription.status == status)
    joined = sa.select(Subscription.created_at, Subscription.id).join(
        User, User.id == Subscription.user_id
    )

    def run():
        with app.app_context():
            total = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Subscription)
                .join(User, User.id == Subscription.user_id)
                .where(*conditions)
            )
            if total:
                order = (Subscription.created_at.desc(), Subscription.id.desc())
                anchor = db.session.execute(
                    joined.where(*conditions).order_by(*order).limit(1)
                ).one()
                db.session.execute(
                    sa.select(Subscription.id, User.email, User.name)
                    .join(User, User.id == Subscription.user_id)
                    .where(*conditions)
                    .where(sa.tuple_(Subscription.created_at, Subscription.id) <= tuple(anchor))
                    .order_by(*order)
                    .limit(20)
                ).all()
            db.session.remove()
            return total

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rebuild", action="store_true", help="make the data set again")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--old-repeat", type=int, default=OLD_REPEAT)
    parser.add_argument(
        "--old-everywhere",
        action="store_true",
        help="the old way for every case (default: within pro, any status: each takes seconds)",
    )
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "benchmark")

    url = database_url(args.engine, args.rebuild)
    app = databases.bench_app(url)
    build(app)
    client = signed_in_client(app)
    load = os.getloadavg()
    print(f"## {args.engine}: {TOTAL:,} subscriptions, {HOT_ROWS:,} on `{HOT_PLAN}`; "
          f"{args.repeat} runs a case (old way: {args.old_repeat}, no warm-up); load average "
          "at start "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min, 2 cores)\n")  # fmt: skip
    # Every case once before any is timed, as a worker that has served a while: the first
    # requests compile templates and prepare statements (the first case had paid for it all).
    for _, query in QUERIES:
        for path in (
            f"/admin/plans/{HOT_PLAN}/subscribers?q={query}",
            f"/admin/subscribers?q={query}",
        ):
            client.get(path)
    print("| query | where | status | total shown | new p50 | new p95 | old p50 | old p95 | "
          "old p95 ÷ new p95 |")  # fmt: skip
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for label, query in QUERIES:
        for plan_id in (HOT_PLAN, None):
            for status in (None, "active"):
                params = {"q": query, **({"status": status} if status else {})}
                path = (
                    (f"/admin/plans/{plan_id}/subscribers" if plan_id else "/admin/subscribers")
                    + "?"
                    + urlencode(params)
                )
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                html = response.get_data(as_text=True)
                if "(not counted)" in html:
                    shown = "not counted (> 10,000 people)"
                elif "of more than" in html:
                    shown = "more than 10,000"
                else:
                    shown = _total(html)
                new = timings(lambda path=path: client.get(path), args.repeat)
                where = f"`{plan_id}`" if plan_id else "all plans"
                if args.old_everywhere or (plan_id and not status):
                    old = timings(old_way(app, plan_id, status, query), args.old_repeat, warm=0)
                    old_cells = f"{old[0]:.0f} | {old[1]:.0f} | {old[1] / new[1]:.0f}×"
                else:
                    old_cells = "– | – | –"
                print(f"| {label} `{query}` | {where} | {status or 'any'} | {shown} | "
                      f"{new[0]:.1f} | {new[1]:.1f} | {old_cells} |", flush=True)  # fmt: skip
    load = os.getloadavg()
    print(f"\nLoad average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.")


def _total(html: str) -> str:
    import re

    found = re.search(r"Showing [\d,]+–[\d,]+ of ([\d,]+)", html)
    return found.group(1) if found else "0"


if __name__ == "__main__":
    main()
