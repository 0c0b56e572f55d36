"""Benchmark: the subscriber exports' memory at 50,000 and 500,000 rows (issue 16).

Builds (once, then reuses) a database with 550,000 subscriptions: 500,000 on plan ``pro`` and
50,000 on plan ``business``. Each case runs in a child process of its own (a fresh worker):
it makes the app, signs in, downloads ``/admin/plans/<plan>/subscribers.<csv|xlsx>`` through the
Flask test client (the body streamed and counted, then dropped, as a server sends it) and
reports its resident memory (VmRSS) just before the download and its peak during it (VmHWM,
reset first through /proc/self/clear_refs, so the sign-in's Argon2 hash, which peaks higher
than the app at rest, is not counted), the download's size and time. A baseline
child signs in and downloads the export of an empty plan: the peak of the app itself.

SQLite keeps a page cache per connection (billing_admin/sqlite.py: up to 256 MiB), which fills
with the pages an export reads once and so shows in RSS; the exports shrink it to 8 MiB on
their connection while they walk (sqlite.small_cache). ``--compare-cache`` also runs each case
with SQLite's default cache (2 MiB) on every connection, which isolates what the export itself
holds.

    .venv/bin/python bench/exports.py                      # SQLite, bench/.data/exports.sqlite3
    .venv/bin/python bench/exports.py --engine postgresql  # database billing_bench_exports

Loopback only, in process, one download per child.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench import databases  # noqa: E402

PLANS = {"pro": 500_000, "business": 50_000}
EMPTY_PLAN = "free"
PASSWORD = databases.ADMIN_PASSWORD


def database_url(engine: str, rebuild: bool) -> str:
    return databases.database_url(
        engine,
        sqlite_file="exports.sqlite3",
        pg_database="billing_bench_exports",
        rebuild=rebuild,
    )


def build(url: str) -> None:
    """The data set: PLANS' subscriptions, each plan seeded on its own."""
    from billing_admin.extensions import db
    from billing_admin.subscribers.demo import seed_demo

    def seed():
        for number, (plan_id, rows) in enumerate(PLANS.items()):
            seed_demo(rows, random_seed=number + 1, plan_weights={plan_id: 1})

    app = databases.bench_app(url)
    databases.build(app, seed, total=sum(PLANS.values()))
    with app.app_context():
        db.engine.dispose()


def child(url: str, plan_id: str, file_format: str, small_cache: bool) -> None:
    """One download in this process; prints a JSON line of what it measured."""
    if small_cache:
        from billing_admin import sqlite

        sqlite.CACHE_KIB = 2 * 1024  # SQLite's own default page cache
    app = databases.bench_app(url)
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(
        "/login", data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code
    before = resident_mib()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    started = time.perf_counter()
    response = client.get(f"/admin/plans/{plan_id}/subscribers.{file_format}")
    assert response.status_code == 200, response.status_code
    size = sum(len(chunk) for chunk in response.iter_encoded())
    response.close()
    seconds = time.perf_counter() - started
    found = {"bytes": size, "seconds": seconds, "before_mib": before, "peak_mib": high_water_mib()}
    print(json.dumps(found))


def resident_mib() -> float:
    """This process's resident memory now (VmRSS)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) / 1024


def high_water_mib() -> float:
    """This process's peak resident memory so far (VmHWM). Not ``ru_maxrss``: on Linux that
    survives fork and exec, so a child started by a big parent reports the parent's peak."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) / 1024


def run_child(engine_url: str, plan_id: str, file_format: str, small_cache: bool) -> dict:
    command = [sys.executable, __file__, "--child", plan_id, file_format, "--url", engine_url]
    if small_cache:
        command.append("--small-cache")
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("PLAN", "FORMAT"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--small-cache", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument(
        "--compare-cache",
        action="store_true",
        help="SQLite: also run every case with a 2 MiB page cache on every connection",
    )
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "benchmark")
    if args.child:
        child(args.url, *args.child, args.small_cache)
        return
    url = database_url(args.engine, args.rebuild)
    build(url)
    caches = (False, True) if args.engine == "sqlite" and args.compare_cache else (False,)
    cases = [
        (EMPTY_PLAN, 0),
        *((plan, rows) for plan, rows in sorted(PLANS.items(), key=lambda p: p[1])),
    ]
    print(f"## {args.engine}: subscriber exports, one child process a download\n")
    print("| format | SQLite cache | rows | size | time | RSS before | peak RSS during | growth |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for file_format in args.formats.split(","):
        for small_cache in caches:
            cache = (
                ("2 MiB everywhere" if small_cache else "8 MiB while exporting")
                if args.engine == "sqlite"
                else "—"
            )
            for plan_id, rows in cases:
                found = run_child(url, plan_id, file_format, small_cache)
                print(
                    f"| {file_format} | {cache} | {rows:,} | {found['bytes'] / 2**20:.1f} MiB "
                    f"| {found['seconds']:.1f} s | {found['before_mib']:.0f} MiB "
                    f"| {found['peak_mib']:.0f} MiB "
                    f"| {found['peak_mib'] - found['before_mib']:+.0f} MiB |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
