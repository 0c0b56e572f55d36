"""Load test: gunicorn with 2 workers on PostgreSQL, the million-subscription data set (issue 7).

Bounded and local: it starts gunicorn on 127.0.0.1, sends a fixed number of requests from a
fixed number of client threads (loopback only), and stops the server at the end. It measures
throughput, p50/p95/p99 and errors for the subscriber JSON endpoint and the subscriber page,
over first, middle and last pages of the 500,000-subscriber plan.

    .venv/bin/python bench/load.py                 # 2,000 JSON + 1,000 HTML requests, 8 clients
    .venv/bin/python bench/load.py --requests 4000 --clients 16
"""

import argparse
import http.client
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.subscribers import HOT_PLAN, PASSWORD, build, database_url  # noqa: E402

PORT = 5099


def start_server(url: str, secret: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secret,
        "LOG_LEVEL": "WARNING",
        "TRUSTED_HOSTS": "127.0.0.1,localhost",
        "REQUIRE_SECOND_FACTOR": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{PORT}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _, _ = request("GET", "/healthz")
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


def request(method: str, path: str, headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def session_cookie() -> str:
    """Sign in through the form. The app marks its cookie Secure (production mode); we send it
    back by hand over plain http on 127.0.0.1."""
    _, headers, body = request("GET", "/login")
    cookie = dict(headers)["Set-Cookie"].split(";", 1)[0]
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1).decode()
    form = urlencode({"email": "bench@example.com", "password": PASSWORD, "csrf_token": token})
    status, headers, _ = request(
        "POST",
        "/login",
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        body=form,
    )
    assert status == 302, status
    return dict(headers)["Set-Cookie"].split(";", 1)[0]


def run(
    paths: list[tuple[str, dict]], total: int, clients: int
) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    rng = random.Random(1)
    plan = [rng.choice(paths) for _ in range(total)]
    cursor = iter(plan)

    def client():
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                return
            path, headers = item
            started = time.perf_counter()
            status, _, _ = request("GET", path, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses.append(status)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, time.perf_counter() - started


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[max(0, round(fraction * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="JSON requests (HTML: half)")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    secret = secrets.token_hex(16)
    os.environ["SECRET_KEY"] = secret
    from billing_admin import create_app
    from billing_admin.auth.tokens import create_api_token
    from billing_admin.extensions import db
    from billing_admin.models import ApiToken, PlanSubscriptionCount

    url = database_url("postgresql", False)
    app = create_app(
        {
            "TRUSTED_HOSTS": ["localhost", "127.0.0.1"],
            "REQUIRE_SECOND_FACTOR": False,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": secret,
            "LOG_LEVEL": "WARNING",
        }
    )
    build(app)
    with app.app_context():
        db.session.execute(db.delete(ApiToken).where(ApiToken.name == "load-test"))
        db.session.commit()
        _, token = create_api_token("load-test", "bench@example.com")
        total = db.session.scalar(
            db.select(db.func.sum(PlanSubscriptionCount.count)).where(
                PlanSubscriptionCount.plan_id == HOT_PLAN
            )
        )
        db.engine.dispose()

    server = start_server(url, secret)
    try:
        cookie = session_cookie()
        pages = [1, (total // 20) // 2, -(-total // 20)]
        api = [
            (
                f"/api/v1/admin/billing/plans/{HOT_PLAN}/subscribers?page={p}",
                {"Authorization": f"Bearer {token}"},
            )
            for p in pages
        ]
        html = [
            (f"/admin/plans/{HOT_PLAN}/subscribers?page={p}", {"Cookie": cookie}) for p in pages
        ]
        print(f"## gunicorn, 2 workers, PostgreSQL, {total:,} subscribers on `{HOT_PLAN}`; "
              f"{args.clients} clients on 127.0.0.1\n")  # fmt: skip
        print("| endpoint | requests | errors | throughput (req/s) | p50 ms | p95 ms | p99 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, paths, count in (
            ("subscriber JSON", api, args.requests),
            ("subscriber page", html, args.requests // 2),
        ):
            run(paths, min(50, count), args.clients)  # warm up both workers
            latencies, statuses, seconds = run(paths, count, args.clients)
            errors = sum(1 for status in statuses if status != 200)
            latencies.sort()
            print(f"| {name} (first, middle, last page) | {count:,} | {errors} | {count / seconds:.0f} | "
                  f"{statistics.median(latencies):.0f} | {percentile(latencies, 0.95):.0f} | "
                  f"{percentile(latencies, 0.99):.0f} |")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
        with app.app_context():
            db.session.execute(db.delete(ApiToken).where(ApiToken.name == "load-test"))
            db.session.commit()


if __name__ == "__main__":
    main()
