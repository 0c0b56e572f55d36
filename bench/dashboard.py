"""Benchmark: the dashboard and a plan page at a million subscriptions (issue 6).

Uses the data set of bench/subscribers.py (built on first use: 1,000,000 subscriptions, 500,000
on `pro`) and measures p50 and p95 of `/admin/` (figures, plan table, three charts) and of
`/admin/plans/pro` (with its 12-week trend), through the app in process, plus the number of
SQL statements each page runs.

    .venv/bin/python bench/dashboard.py --engine sqlite
    .venv/bin/python bench/dashboard.py --engine postgresql
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import databases
from bench.subscribers import HOT_PLAN, build, database_url, signed_in_client, timings

REPEAT = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "benchmark")
    from billing_admin.extensions import db
    from tests.helpers import QueryCounter

    app = databases.bench_app(database_url(args.engine, False))
    build(app)
    client = signed_in_client(app)
    with app.app_context():
        engine = db.engine
    print(f"## {args.engine}: 1,000,000 subscriptions; {args.repeat} runs a page\n")
    print("| page | p50 ms | p95 ms | SQL statements |")
    print("|---|---:|---:|---:|")
    for path in ("/admin/", f"/admin/plans/{HOT_PLAN}"):
        assert client.get(path).status_code == 200
        with QueryCounter(engine) as counter:
            client.get(path)
        p50, p95 = timings(lambda path=path: client.get(path), args.repeat)
        print(f"| `{path}` | {p50:.0f} | {p95:.0f} | {counter.count} |")


if __name__ == "__main__":
    main()
