"""Metrics under gunicorn with two workers add up across the workers (prometheus_client's
multiprocess mode, set up by gunicorn.conf.py), and a dead worker's live gauge is dropped.

A real gunicorn serves a migrated SQLite file on a free loopback port; requests are sent from
several threads so both workers answer some (the access log's pid field shows which did)."""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0
HEALTHZ = 'billing_admin_http_requests_total{endpoint="health.healthz",method="GET",status="200"}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def counter(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def pids_in(log: Path, path: str) -> list[int]:
    return [
        int(pid)
        for pid in re.findall(
            rf'"GET {re.escape(path)} HTTP/1.1" 200 .* pid=<(\d+)>', log.read_text()
        )
    ]


@pytest.fixture
def gunicorn(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"FLASK_DEBUG", "TRUSTED_PROXIES"}}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        SECRET_KEY=secrets.token_hex(32),
        TRUSTED_HOSTS="127.0.0.1",  # production mode requires it (docs/deploy.md)
        FLASK_APP="wsgi",
        INSTANCE_PATH=str(tmp_path / "instance"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (tmp_path / "metrics").mkdir(exist_ok=True)  # the command made it (instruments.py)
    (tmp_path / "metrics" / "counter_1.db").write_bytes(b"stale values of an earlier run")
    port = free_port()
    access_log = tmp_path / "access.log"
    error_log = open(tmp_path / "error.log", "w")  # noqa: SIM115 - closed after the server
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "wsgi:app",
        ],
        cwd=PROJECT_ROOT,  # gunicorn reads ./gunicorn.conf.py from here
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=error_log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + TIMEOUT
    while True:
        assert process.poll() is None, (tmp_path / "error.log").read_text()[-3000:]
        try:
            if get(f"{url}/login")[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "gunicorn never answered"
        time.sleep(0.1)
    yield url, process, access_log, tmp_path / "metrics"
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    error_log.close()


def send_from_threads(url: str, count: int, threads: int = 8) -> None:
    def work(share: int) -> None:
        for _ in range(share):
            assert get(url)[0] == 200

    workers = [threading.Thread(target=work, args=(count // threads,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT)


def test_counters_add_up_across_two_workers_and_survive_a_dead_one(gunicorn):
    url, process, access_log, folder = gunicorn
    assert not (folder / "counter_1.db").exists()  # the stale file was cleared at start
    before = counter(get(f"{url}/metrics")[1], HEALTHZ)
    # Both workers must answer some. A fast request lets one idle worker take them all, so a
    # worker is first tied up with a request whose headers never end (a sync worker reads it
    # until the client goes): the first 40 go to the other one. That one then takes a second
    # such request, the first is let go, and the next 40 can only go to the first worker.
    # (The listening socket's queue is first in, first out: a held request connected before the
    # others is accepted before them.)
    address = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
    partial = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    sent = 0
    first = socket.create_connection(address)
    first.sendall(partial)
    send_from_threads(f"{url}/healthz", 40)
    sent += 40
    with socket.create_connection(address) as second:
        second.sendall(partial)
        time.sleep(0.5)  # accepted by the idle worker
        first.close()
        send_from_threads(f"{url}/healthz", 40)
        sent += 40
    time.sleep(0.5)  # the access log is written after the response
    workers = set(pids_in(access_log, "/healthz"))
    assert len(workers) == 2

    scrapes = [get(f"{url}/metrics")[1] for _ in range(6)]  # answered by either worker
    assert {counter(text, HEALTHZ) - before for text in scrapes} == {sent}
    assert len(set(pids_in(access_log, "/metrics"))) >= 1

    # A worker dies: gunicorn replaces it, child_exit drops its live gauge, its counts stay.
    dead = sorted(workers)[0]
    assert (folder / f"gauge_livesum_{dead}.db").exists()
    os.kill(dead, signal.SIGTERM)
    deadline = time.monotonic() + TIMEOUT
    while (folder / f"gauge_livesum_{dead}.db").exists():
        assert time.monotonic() < deadline, "child_exit did not drop the dead worker's gauge"
        time.sleep(0.1)
    assert (folder / f"counter_{dead}.db").exists()
    text = ""
    while "billing_admin_http_requests_in_progress" not in text:
        assert process.poll() is None
        assert time.monotonic() < deadline, "no worker answered after one died"
        _, text = get(f"{url}/metrics")
    assert counter(text, HEALTHZ) - before == sent
    assert counter(text, "billing_admin_http_requests_in_progress") == 1  # this scrape only
