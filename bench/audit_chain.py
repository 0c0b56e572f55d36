"""Benchmark: what the audit trail's hash chain costs (issue 17).

1. ``save``: a plan save (``plans.service.update_plan``, what the edit form calls: one plan
   update and one audit entry, committed) with the chain, beside the same save without it, in
   the same run, alternating one save of each. "Without" is the same schema with the chain's
   hook replaced by a stand-in that fills the two hash columns with a constant (no lock, no
   tail read, no hash): the difference is what the chain adds. Each side has its own database
   (SQLite file / PostgreSQL schema) holding 100,000 earlier entries. Target: ≤ 1 ms at p50.
2. ``verify``: ``flask audit verify`` as its own process over 100,000 and then 1,000,000
   entries (built once: realistic entries, chained; 1 in 10 a created plan with every field,
   the rest an update of one to three fields): wall time and the process's peak resident
   memory (``wait4``'s ``ru_maxrss``). Target: ≤ 30 s at 1,000,000, memory not growing with
   the trail.

    .venv/bin/python bench/audit_chain.py --engine sqlite
    .venv/bin/python bench/audit_chain.py --engine postgresql   # the local PostgreSQL

Data: bench/.data/audit_*.sqlite3, or the PostgreSQL database billing_bench_audit (made if
missing); --rebuild makes them again. Loopback only, bounded repetitions.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import databases  # noqa: E402

PG_DATABASE = "billing_bench_audit"
EARLIER_ENTRIES = 100_000
VERIFY_SIZES = (100_000, 1_000_000)
SAVES = 1_000
GENESIS = "0" * 64


def database_url(engine: str, name: str, rebuild: bool) -> str:
    """A database of the benchmark's own: a SQLite file, or a schema of billing_bench_audit."""
    if engine == "sqlite":
        return databases.sqlite_url(f"audit_{name}.sqlite3", rebuild)
    url = databases.postgresql_url(PG_DATABASE, rebuild=False)
    bench = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with bench.connect() as connection:
        if rebuild:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {name}")
    bench.dispose()
    return f"{url}?options=-csearch_path%3D{name}"


def entry_values(n: int) -> dict:
    """The n-th bench entry (deterministic)."""
    plan = ("free", "starter", "pro", "business", "unlimited")[n % 5]
    if n % 10 == 0:
        changes = {
            field: {"old": None, "new": value}
            for field, value in {
                "name": f"Plan {n}",
                "name_ru": f"План {n}",
                "description": "Advanced features and higher quotas",
                "description_ru": "Расширенные возможности и увеличенные квоты",
                "price": f"{n % 5000}.00",
                "currency": "RUB",
                "interval": "month",
                "quotas": {
                    "tokens_input": 5_000_000,
                    "tokens_output": 2_000_000,
                    "requests": 20_000,
                },
                "features": ["GPT-4o", "Claude 4.5 Sonnet", "Приоритетная обработка"],
                "is_active": True,
                "display_order": n % 10,
                "plan_extra_metadata": None,
            }.items()
        }
        action = "plan_created"
    else:
        fields = ("name", "price", "display_order")[: 1 + n % 3]
        changes = {f: {"old": f"{f} {n}", "new": f"{f} {n + 1}"} for f in fields}
        action = "plan_updated"
    return {
        "actor": "admin@example.com" if n % 2 else "flask seed-plans",
        "action": action,
        "entity_type": "plan",
        "entity_id": plan,
        "description": None,
        "changes": changes,
        "audit_metadata": {"version": n} if action == "plan_updated" else None,
        "created_at": 1_700_000_000 + n,
    }


def fill_trail(app, upto: int, chained: bool) -> None:
    """Append bench entries until the trail has ``upto`` (chained as the app would, or with the
    stand-in hashes), in batches of 10,000 with Core (the ORM's per-object cost is not what is
    measured here)."""
    from billing_admin.extensions import db
    from billing_admin.models import AuditLog
    from billing_admin.models.audit_chain import chain_tail, entry_hash

    table = AuditLog.__table__
    with app.app_context():
        last_id, last_hash = chain_tail(db.session)
        db.session.rollback()
        while last_id < upto:
            rows = []
            for n in range(last_id + 1, min(upto, last_id + 10_000) + 1):
                values = {
                    "id": n,
                    **entry_values(n),
                    "prev_hash": last_hash if chained else GENESIS,
                }
                values["entry_hash"] = last_hash = entry_hash(values) if chained else GENESIS
                rows.append(values)
            db.session.execute(sa.insert(table), rows)
            db.session.commit()
            last_id = rows[-1]["id"]
            if last_id % 100_000 == 0:
                print(f"  … {last_id:,} entries", file=sys.stderr)


def prepare(url: str, chained: bool):
    from flask_migrate import upgrade

    from billing_admin.extensions import db
    from billing_admin.models import Plan
    from tests.helpers import add_plan

    app = databases.bench_app(url)
    with app.app_context():
        upgrade()
        if db.session.get(Plan, "pro") is None:
            add_plan("pro")
        db.session.commit()
    fill_trail(app, EARLIER_ENTRIES, chained)
    return app


class StandIn:
    """The chain's hook without the chain: constant hashes, ids from a counter in memory (no
    lock, no tail read, no hash)."""

    def __init__(self, app):
        from billing_admin.extensions import db
        from billing_admin.models.audit_chain import chain_tail

        with app.app_context():
            self.next_id = chain_tail(db.session)[0] + 1
            db.session.rollback()

    def __call__(self, session, entries) -> None:
        for entry in entries:
            entry.id, self.next_id = self.next_id, self.next_id + 1
            entry.prev_hash = entry.entry_hash = GENESIS


def bench_save(engine: str, rebuild: bool, saves: int = SAVES) -> None:
    from billing_admin.audit.service import Actor
    from billing_admin.extensions import db
    from billing_admin.models import audit_chain
    from billing_admin.plans import service
    from billing_admin.plans.service import get_plan, spec_of

    real = audit_chain.chain_entries
    apps = {
        "with the chain": prepare(database_url(engine, "chain_on", rebuild), chained=True),
        "without": prepare(database_url(engine, "chain_off", rebuild), chained=False),
    }
    stand_in = StandIn(apps["without"])
    actor = Actor("bench@example.com")
    samples: dict[str, list[float]] = {name: [] for name in apps}
    hook: list[float] = []

    def timed_chain(session, entries) -> None:
        started = time.perf_counter()
        real(session, entries)
        hook.append((time.perf_counter() - started) * 1000)

    for n in range(saves + 10):
        # Alternating, and which goes first alternates too (the first of a pair may pay for
        # the other's fsync still settling).
        for name, app in sorted(apps.items(), reverse=bool(n % 2)):
            audit_chain.chain_entries = timed_chain if name == "with the chain" else stand_in
            with app.app_context():
                plan = get_plan("pro")
                new = replace(spec_of(plan), price=Decimal(1000 + n % 500))
                version = plan.version
                db.session.rollback()
                started = time.perf_counter()
                service.update_plan("pro", new, expected_version=version, actor=actor)
                elapsed = (time.perf_counter() - started) * 1000
                if n >= 10:  # warm-up
                    samples[name].append(elapsed)
    audit_chain.chain_entries = real
    print(
        f"\n## {engine}: a plan save, {saves} saves each, alternating, {EARLIER_ENTRIES:,} entries before\n"
    )
    print("| | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    p50 = {}
    for name, values in samples.items():
        values.sort()
        p50[name] = statistics.median(values)
        print(f"| {name} | {p50[name]:.3f} | {values[round(0.95 * len(values)) - 1]:.3f} |")
    print(
        f"| **the chain adds (difference of p50s)** | **{p50['with the chain'] - p50['without']:.3f}** | |"
    )
    hook = sorted(hook[10:])
    print(
        f"| the chain's own work inside the save (lock, tail read, hash), timed directly | "
        f"{statistics.median(hook):.3f} | {hook[round(0.95 * len(hook)) - 1]:.3f} |"
    )
    with apps["with the chain"].app_context():
        from billing_admin.audit.verification import walk_chain

        assert walk_chain().ok, "the benchmark's chain does not verify"


def run_verify(url: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB, and output of `flask audit verify` in its own process."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "benchmark",
        "FLASK_APP": "wsgi",
        "TRUSTED_HOSTS": "localhost",  # production mode requires it (issue 15)
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "audit", "verify"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, output
    return elapsed, usage.ru_maxrss / 1024, output.strip()


def bench_verify(engine: str, rebuild: bool) -> None:
    from flask_migrate import upgrade

    print(f"\n## {engine}: `flask audit verify`\n")
    print("| entries | wall s | peak RSS MiB | output |")
    print("|---:|---:|---:|---|")
    for size in VERIFY_SIZES:
        # A database for each size: the same walk over 10 times the entries.
        url = database_url(
            engine, "verify" if size == max(VERIFY_SIZES) else f"verify_{size}", rebuild
        )
        app = databases.bench_app(url)
        with app.app_context():
            upgrade()
        fill_trail(app, size, chained=True)
        if engine == "postgresql":
            with sa.create_engine(url).begin() as connection:
                connection.exec_driver_sql("ANALYZE billing_audit_log")
        elapsed, peak, output = run_verify(url)
        print(f"| {size:,} | {elapsed:.1f} | {peak:.0f} | `{output}` |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--only", choices=("save", "verify"))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--saves", type=int, default=SAVES, help="saves of each kind")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "benchmark")
    if args.only in (None, "save"):
        bench_save(args.engine, args.rebuild, args.saves)
    if args.only in (None, "verify"):
        bench_verify(args.engine, args.rebuild)


if __name__ == "__main__":
    main()
