"""Benchmark: one subscription's page at a million subscriptions (issue 13; target p95 ≤ 20 ms).

The data set is the subscriber benchmark's (bench/subscribers.py: 1,000,000 subscriptions,
500,000 on ``pro``), in the same database as the search benchmark's. Measured through the app (Flask test client, in
process, signed in as an admin), p50 and p95 over ``--repeat`` requests cycling through
``SAMPLE`` subscriptions spread over every plan and status, a quarter of them with a history of
admin actions:

- ``/admin/subscriptions/<id>`` (the new page) and ``/admin/users/<user_id>``;
- the page's own two statements on the driver directly (the floor under the app's work);
- for scale, in the same run, the first page of ``pro``'s subscriber table (issue 5's page,
  whose earlier figures are in docs/benchmarks.md): how loaded the machine was;
- beside them, finding the subscriber by search: the plan's subscriber table searched for the
  subscriber's exact email (``?q=<email>``; before issue 13's indexes this was ``LIKE '%q%'``
  over every row and took seconds).

Usage (from the project folder, with the project's .venv):

    .venv/bin/python bench/subscription_page.py --engine sqlite
    .venv/bin/python bench/subscription_page.py --engine postgresql   # local PostgreSQL

Loopback only, in process, bounded: a fixed number of requests per case. The data lives in
bench/.data/bench.sqlite3 or the PostgreSQL database billing_bench (bench/subscribers.py's and
bench/search.py's: one build serves all three); --rebuild makes it again.
"""

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import databases  # noqa: E402
from bench.subscribers import TOTAL, build, signed_in_client, timings  # noqa: E402

SAMPLE = 40
REPEAT = 200
OLD_WAY_REPEAT = 200  # the search of issue 13: as fast as a page now


def database_url(engine: str, rebuild: bool) -> str:
    return databases.database_url(
        engine,
        sqlite_file="bench.sqlite3",
        pg_database="billing_bench",
        rebuild=rebuild,
    )


def sample(app) -> list[tuple[str, str, str, str]]:
    """(subscription id, user id, plan id, email) of SAMPLE subscriptions spread over the table
    (by id, so every plan and status), a quarter given a history of three actions (once)."""
    from billing_admin.audit.service import Actor
    from billing_admin.extensions import db
    from billing_admin.models import AuditLog, Subscription, User
    from billing_admin.subscriptions import actions

    with app.app_context():
        step = TOTAL // SAMPLE
        rows = [
            tuple(
                db.session.execute(
                    sa.select(
                        Subscription.id, Subscription.user_id, Subscription.plan_id, User.email
                    )
                    .join(User, User.id == Subscription.user_id)
                    .order_by(Subscription.id)
                    .offset(n * step)
                    .limit(1)
                ).one()
            )
            for n in range(SAMPLE)
        ]
        actor = Actor("bench@example.com")
        for subscription_id, *_ in rows[::4]:
            has_history = db.session.scalar(
                sa.select(AuditLog.id).where(AuditLog.entity_id == subscription_id).limit(1)
            )
            subscription = db.session.get(Subscription, subscription_id)
            if has_history or subscription.status == "canceled":
                db.session.rollback()
                continue
            version = subscription.version
            steps = (actions.cancel_at_period_end, actions.resume_renewal)
            if subscription.cancel_at_period_end:
                steps = steps[::-1]
            db.session.rollback()
            for act in steps:
                version = act(
                    subscription_id, expected_version=version, actor=actor
                ).subscription.version
            actions.extend_period(subscription_id, 1, expected_version=version, actor=actor)
        db.session.remove()
    return rows


def bare_sql(app, ids: list[str]):
    """The page's two statements, hand-written, on the driver: the subscription with its user,
    plan and price; its history."""
    from billing_admin.extensions import db

    with app.app_context():
        engine = db.engine
    turn = [0]

    def run():
        subscription_id = ids[turn[0] % len(ids)]
        turn[0] += 1
        with engine.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT s.*, u.email, u.name, p.name, p.price, pr.amount FROM billing_subscription s "
                    'JOIN "user" u ON u.id = s.user_id JOIN billing_plan p ON p.id = s.plan_id '
                    "JOIN billing_price pr ON pr.id = s.price_id WHERE s.id = :id"
                ),
                {"id": subscription_id},
            ).one()
            conn.execute(
                sa.text(
                    "SELECT * FROM billing_audit_log WHERE entity_type = 'subscription' "
                    "AND entity_id = :id ORDER BY created_at DESC, id DESC LIMIT 100"
                ),
                {"id": subscription_id},
            ).all()

    return run


def cycling(client, urls: list[str]):
    turn = [0]

    def run():
        url = urls[turn[0] % len(urls)]
        turn[0] += 1
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rebuild", action="store_true", help="make the data set again")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument(
        "--old-way-runs",
        type=int,
        default=OLD_WAY_REPEAT,
        help="runs of the search way (0: leave it out)",
    )
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "benchmark")

    app = databases.bench_app(database_url(args.engine, args.rebuild))
    build(app)
    rows = sample(app)
    client = signed_in_client(app)
    pages = [f"/admin/subscriptions/{subscription_id}" for subscription_id, *_ in rows]
    users = [f"/admin/users/{user_id}" for _, user_id, _, _ in rows]
    old_way = [
        f"/admin/plans/{plan_id}/subscribers?q={quote(email)}" for _, _, plan_id, email in rows
    ]

    load = os.getloadavg()
    print(f"## {args.engine}: {TOTAL:,} subscriptions; {SAMPLE} subscriptions in turn; load "
          f"average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")  # fmt: skip
    print("| case | runs | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|")
    cases = [
        ("subscription page `/admin/subscriptions/<id>`", cycling(client, pages), args.repeat),
        ("user page `/admin/users/<id>`", cycling(client, users), args.repeat),
        ("the page's two statements, bare SQL", bare_sql(app, [r[0] for r in rows]), args.repeat),
        (
            "for scale: a plan's subscriber table, first page (issue 5's page)",
            cycling(client, ["/admin/plans/pro/subscribers"]),
            args.repeat,
        ),
    ]
    if args.old_way_runs > 0:
        cases.append(
            (
                "by search: the plan's subscriber table searched for the exact email",
                cycling(client, old_way),
                args.old_way_runs,
            )
        )
    for name, run, repeat in cases:
        p50, p95 = timings(run, repeat)
        print(f"| {name} | {repeat} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
