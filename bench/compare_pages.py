"""Benchmark: one version of the code against another on the subscriber pages (same data).

Times the first page of plan ``pro`` (HTML at 20 and 100 rows, JSON at 100) through the app of
the checkout given by ``--code``, on the data set bench/subscribers.py builds, and prints min,
p50 and p95. Run it for two checkouts one after the other (and again, alternating) to see what a
change costs with the machine's noise held as equal as it can be; the minimum is the steadiest
figure on a shared machine.

    git worktree add /tmp/before 5d9160a          # the code before issue 8
    .venv/bin/python bench/compare_pages.py --code /tmp/before --engine sqlite
    .venv/bin/python bench/compare_pages.py --code . --engine sqlite

Loopback only, in process, bounded: --repeat requests a case (400), after five warm-up ones.
The data must exist: run bench/subscribers.py for the engine first.
"""

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URLS = {
    "sqlite": f"sqlite:///{ROOT / 'bench' / '.data' / 'bench.sqlite3'}",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/billing_bench",
}
CASES = [
    ("HTML, 20 rows", "/admin/plans/pro/subscribers"),
    ("HTML, 100 rows", "/admin/plans/pro/subscribers?page_size=100"),
    ("JSON, 100 rows", "/api/v1/admin/billing/plans/pro/subscribers?page_size=100"),
]
PASSWORD = "benchmark password"  # bench/subscribers.py's admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--engine", choices=tuple(URLS), default="sqlite")
    parser.add_argument("--language", default="en", help="Accept-Language of the requests")
    parser.add_argument("--repeat", type=int, default=400)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from billing_admin import create_app  # the checkout's own

    app = create_app(
        {
            "TRUSTED_HOSTS": ["localhost", "127.0.0.1"],
            "REQUIRE_SECOND_FACTOR": False,
            "SQLALCHEMY_DATABASE_URI": URLS[args.engine],
            "SECRET_KEY": "benchmark-only-secret-key",
            "PASSWORD_HASH_PROFILE": "CHEAPEST",
        }
    )
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed_in = client.post(
        "/login", data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 302, "no data: run bench/subscribers.py for this engine"
    headers = {"Accept-Language": args.language}
    print(f"{args.code} on {args.engine}, {args.language}, {args.repeat} requests a case (ms)")
    for name, url in CASES:
        for _ in range(5):
            client.get(url, headers=headers)
        samples = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        samples.sort()
        p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
        print(
            f"  {name:15} min {samples[0]:5.1f}  p50 {statistics.median(samples):5.1f}  "
            f"p95 {p95:5.1f}"
        )


if __name__ == "__main__":
    main()
