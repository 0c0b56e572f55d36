"""Benchmark: parallel sign-ins on SQLite, and an admin's unrelated write meanwhile (issue 15).

The finding: the Argon2 check ran inside SQLite's write transaction, so 24 parallel sign-ins
took 9.4 s and held an admin's unrelated write for 3.2 s. This signs in ``--sign-ins`` browsers
at once (threads, each its own client: Argon2 releases the GIL, as separate workers would run
it) with the real password profile (RFC 9106 low memory). Meanwhile another connection makes
an unrelated write every 50 ms (``BEGIN IMMEDIATE``, a plan's display order, ``COMMIT``), as an
admin's save would: its latency is how long sign-ins keep the database's write lock from
others, apart from the CPU the hashing takes from everything (two cores shared by 24 hashes).
It reports the burst's wall time and the writes' p50 and longest wait. Run it for the code
before the fix and after, one after the other, on the same machine:

    git worktree add /tmp/before bba1bcd          # the code before issue 15
    .venv/bin/python bench/sign_in.py --code /tmp/before
    .venv/bin/python bench/sign_in.py --code .

Loopback only, in process, bounded: one burst a run (``--runs``), each on a fresh SQLite file.
"""

import argparse
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long benchmark passphrase 7"
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def sign_in(client, email: str) -> int:
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    return response.status_code


def one_run(create_app, count: int) -> tuple[float, tuple[float, float], int]:
    """Seconds for ``count`` parallel sign-ins, (p50, longest) seconds an unrelated write
    waited meanwhile, sign-ins that answered 302."""
    from flask_migrate import upgrade

    folder = tempfile.mkdtemp(prefix="sign-in-bench-")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "benchmark-only-secret-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
            "PASSWORD_HASH_PROFILE": "RFC_9106_LOW_MEMORY",
            "SIGN_IN_CLIENT_LIMIT": "1000 per minute",
        }
    )
    with app.app_context():
        upgrade()
        from billing_admin.auth.service import create_or_promote_admin
        from billing_admin.plans.seeding import seed_plans

        seed_plans()
        for n in range(count + 1):
            create_or_promote_admin(f"admin{n}@example.com", PASSWORD, f"Admin {n}")
    clients = [app.test_client() for _ in range(count)]
    for client in clients:
        client.get("/login")
    barrier = threading.Barrier(count + 1)
    answers: list[int] = []

    def browser(n: int) -> None:
        client = clients[n]
        barrier.wait()
        answers.append(sign_in(client, f"admin{n}@example.com"))

    threads = [threading.Thread(target=browser, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    # The unrelated writer: its own connection, as another worker's request would have.
    writer = sqlite3.connect(f"{folder}/bench.sqlite3", timeout=60, isolation_level=None)
    barrier.wait()
    started = time.perf_counter()
    waits = []
    while any(thread.is_alive() for thread in threads):
        write_started = time.perf_counter()
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE billing_plan SET display_order = display_order WHERE id = 'pro'")
        writer.execute("COMMIT")
        waits.append(time.perf_counter() - write_started)
        time.sleep(0.05)
    burst_seconds = time.perf_counter() - started
    writer.close()
    write_seconds = (statistics.median(waits), max(waits))
    return burst_seconds, write_seconds, sum(1 for status in answers if status == 302)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--sign-ins", type=int, default=24)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from billing_admin import create_app  # the checkout's own

    bursts, writes = [], []
    for run in range(args.runs):
        burst, write, ok = one_run(create_app, args.sign_ins)
        bursts.append(burst)
        writes.append(write)
        print(
            f"run {run + 1}: {args.sign_ins} sign-ins in {burst:.2f} s ({ok} signed in); "
            f"unrelated writes waited p50 {write[0] * 1000:.0f} ms, at most {write[1]:.2f} s"
        )
    print(
        f"{args.code}: median burst {statistics.median(bursts):.2f} s, longest unrelated "
        f"write (median of runs) {statistics.median(w[1] for w in writes):.2f} s"
    )


if __name__ == "__main__":
    main()
