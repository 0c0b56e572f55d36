"""`flask seed-plans`: counts, idempotence, --force, --dry-run, atomicity, errors and races."""

import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan
from billing_admin.plans import seeding
from billing_admin.plans.seeding import seed_plans
from billing_admin.plans.service import plan_summary
from tests.helpers import add_subscription, change_plan, prices_of, snapshot
from tests.subscriber_data import bulk_subscribers

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IDS = ["business", "free", "pro", "starter", "unlimited"]


def plan_ids() -> list[str]:
    ids = list(db.session.scalars(sa.select(Plan.id).order_by(Plan.id)))
    db.session.rollback()
    return ids


def seed(runner, *args):
    # The command shares the test's app context and session, and runs its own transaction.
    db.session.commit()
    return runner.invoke(args=["seed-plans", *args])


@pytest.mark.parametrize(
    ("flags", "created"),
    [
        ((), 5),
        (("--include-annual",), 8),
        (("--include-promo",), 6),
        (("--include-annual", "--include-promo"), 9),
    ],
)
def test_counts_for_each_flag_combination(runner, flags, created):
    result = seed(runner, *flags)
    assert result.exit_code == 0, result.output
    assert len(plan_ids()) == created
    assert result.output.splitlines()[-1] == f"created {created}, updated 0, unchanged 0, skipped 0"


def test_output_has_one_line_per_plan_then_a_summary(runner):
    result = seed(runner)
    assert result.output.splitlines() == [
        "created   free",
        "created   starter",
        "created   pro",
        "created   business",
        "created   unlimited",
        "created 5, updated 0, unchanged 0, skipped 0",
    ]


def test_a_second_run_skips_every_plan_and_writes_nothing(runner):
    seed(runner, "--include-annual", "--include-promo")
    before = snapshot()
    result = seed(runner, "--include-annual", "--include-promo")
    assert result.exit_code == 0
    assert "skipped   pro (exists; --force overwrites)" in result.output.splitlines()
    assert result.output.splitlines()[-1] == "created 0, updated 0, unchanged 0, skipped 9"
    assert snapshot() == before


def test_stored_values_equal_the_template(runner):
    seed(runner, "--include-annual")
    pro = db.session.get(Plan, "pro_annual")
    assert (pro.price, pro.interval, pro.currency) == (Decimal("14304.00"), "year", "RUB")
    assert pro.quotas == {"tokens_input": 5_000_000, "tokens_output": 2_000_000, "requests": 20_000}
    assert pro.features[0] == "Все возможности Pro"
    assert db.session.get(Plan, "unlimited").quotas is None
    assert pro.version == 1


def test_force_updates_changed_plans_reports_unchanged_and_keeps_created_at(runner, set_clock):
    set_clock(1_000_000)
    seed(runner)
    pro = db.session.get(Plan, "pro")
    pro.price = Decimal("1590.00")
    pro.features = ["only one"]
    db.session.commit()
    version = pro.version

    set_clock(2_000_000)
    result = seed(runner, "--force")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2].startswith('updated   pro: price 1590.00 -> 1490.00, features ["only one"] -> ')
    assert lines[0] == "unchanged free"
    assert lines[-1] == "created 0, updated 1, unchanged 4, skipped 0"
    pro = db.session.get(Plan, "pro")
    assert pro.price == Decimal("1490.00")
    assert pro.features[0] == "Все модели Starter"
    assert (pro.created_at, pro.updated_at) == (1_000_000, 2_000_000)
    assert pro.version == version + 1
    free = db.session.get(Plan, "free")
    assert (free.updated_at, free.version) == (1_000_000, 1)  # unchanged: not written


def test_the_promo_end_is_set_at_creation_and_never_rewritten(runner, set_clock):
    set_clock(1_000_000)
    seed(runner, "--include-promo")
    set_clock(5_000_000)
    result = seed(runner, "--include-promo", "--force")
    assert "unchanged newyear_2025" in result.output.splitlines()
    promo = db.session.get(Plan, "newyear_2025")
    assert promo.plan_extra_metadata == {
        "promo": True,
        "promo_code": "NEWYEAR2025",
        "promo_ends": 1_000_000 + 90 * 86_400,
    }


def test_dry_run_prints_the_plan_and_writes_nothing(runner):
    seed(runner, "--include-promo")
    pro = db.session.get(Plan, "pro")
    pro.name = "Changed"
    db.session.commit()
    before = snapshot()

    result = seed(runner, "--include-annual", "--include-promo", "--force", "--dry-run")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # Issue 12: a dry run says what it would do, never "created" or "updated".
    assert "would create starter_annual" in lines
    assert "would update pro: name Changed -> Pro" in lines
    assert lines[-2] == "would create 3, would update 1, unchanged 5, skipped 0"
    assert lines[-1] == "dry run: nothing was written"
    assert not any(line.startswith(("created", "updated")) for line in lines)
    assert snapshot() == before


def test_created_and_updated_plans_are_audited_with_the_command_as_actor(runner):
    seed(runner)
    created = db.session.scalars(sa.select(AuditLog).where(AuditLog.entity_id == "starter")).one()
    assert (created.action, created.actor, created.entity_type) == (
        "plan_created",
        "flask seed-plans",
        "plan",
    )
    assert created.user_id is None
    assert created.changes["price"] == {"old": None, "new": "490.00"}
    assert created.changes["name_ru"] == {"old": None, "new": "Старт"}

    db.session.get(Plan, "starter").price = Decimal("590.00")
    db.session.commit()
    seed(runner, "--force")
    updated = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "plan_updated")).one()
    assert updated.entity_id == "starter"
    assert updated.actor == "flask seed-plans"
    assert updated.changes == {"price": {"old": "590.00", "new": "490.00"}}


def test_a_failure_part_way_leaves_the_database_exactly_as_before(runner, monkeypatch):
    seed(runner)
    for plan_id in ("free", "pro"):
        db.session.get(Plan, plan_id).name = "Edited"
    db.session.commit()
    before = snapshot()

    real = seeding.record_plan_change
    calls = []

    def fail_on_third_write(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(seeding, "record_plan_change", fail_on_third_write)
    result = seed(runner, "--include-annual", "--force")

    assert len(calls) == 3  # two writes went through before the failure
    assert result.exit_code == 1
    assert result.output == (
        "Error: unexpected error, nothing was written: RuntimeError: disk on fire\n"
    )
    assert snapshot() == before


def test_an_invalid_template_stops_seeding_before_any_write(runner, monkeypatch):
    from dataclasses import replace

    from billing_admin.plans import templates

    monkeypatch.setattr(templates, "PRO", replace(templates.PRO, price=Decimal("-1")))
    result = seed(runner)
    assert result.exit_code == 1
    assert result.output == "Error: plan 'pro' is invalid: price: Must be 0 or more.\n"
    assert plan_ids() == []


def test_force_refuses_to_lower_a_quota_of_a_plan_with_active_subscriptions(runner):
    seed(runner)
    pro = db.session.get(Plan, "pro")
    pro.quotas = {**pro.quotas, "requests": 50_000}
    add_subscription("pro", "active")
    db.session.commit()
    before = snapshot()

    result = seed(runner, "--force")

    # Issue 12: a refusal is listed with the other plans' lines and exits 3 (it was a one-line
    # error with exit 1); still all or nothing by default.
    assert result.exit_code == 3
    assert result.stdout.splitlines() == [
        "unchanged free",
        "unchanged starter",
        "refused   pro: Cannot decrease quota 'requests' from 50000 to 20000 while plan has "
        "active subscriptions. Create a new plan instead.",
        "unchanged business",
        "unchanged unlimited",
        "would create 0, would update 0, unchanged 4, skipped 0, refused 1",
    ]
    assert result.stderr == (
        "Error: 1 plan refused: nothing was written (--skip-refused writes the others)\n"
    )
    assert snapshot() == before


def test_force_may_lower_a_quota_when_no_subscription_is_active(runner):
    seed(runner)
    pro = db.session.get(Plan, "pro")
    pro.quotas = {**pro.quotas, "requests": 50_000}
    add_subscription("pro", "canceled")
    db.session.commit()
    result = seed(runner, "--force")
    assert result.exit_code == 0, result.output
    assert db.session.get(Plan, "pro").quotas["requests"] == 20_000


def test_a_database_without_the_schema_gets_a_clear_error(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["seed-plans"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: the database has no billing tables: run `flask db upgrade` first\n"
    )


def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path):
    from tests.helpers import make_app

    app = make_app(f"sqlite:///{tmp_path}/missing-dir/db.sqlite3")
    result = app.test_cli_runner().invoke(args=["seed-plans"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: database error, nothing was written: ")
    assert len(result.output.splitlines()) == 1


def test_an_unknown_flag_is_a_usage_error_with_exit_2(runner):
    result = seed(runner, "--include-everything")
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert plan_ids() == []


def test_nothing_to_do_is_success(runner):
    seed(runner)
    assert seed(runner).exit_code == 0


def run_seed_process(database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "TRUSTED_HOSTS": "localhost",
        "FLASK_APP": "wsgi",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "seed-plans", "--include-annual", "--include-promo"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_runs_at_once_end_with_the_right_rows_and_no_error(app, database_url):
    processes = [run_seed_process(database_url) for _ in range(2)]
    outputs = [process.communicate(timeout=120)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    summaries = sorted(output.splitlines()[-1] for output in outputs)
    created = [int(s.split(",")[0].split()[1]) for s in summaries]
    assert sum(created) == 9  # every plan created exactly once between them
    assert len(plan_ids()) == 9
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id))) == 9


@pytest.mark.postgresql_only
def test_a_run_that_loses_the_insert_race_skips_the_winners_plans(app):
    """Both runs read "no plans" before either inserts: ON CONFLICT DO NOTHING settles it.

    (On SQLite, BEGIN IMMEDIATE makes the second run wait before it reads; no such race.)
    """
    both_have_looked = threading.Barrier(2, timeout=30)
    real_load = seeding._load_plans

    def load_then_wait(plan_ids, *, lock):
        plans = real_load(plan_ids, lock=lock)
        if len(plan_ids) > 1:  # the first look, not the reload after losing the race
            both_have_looked.wait()
        return plans

    seeding._load_plans = load_then_wait
    reports, errors = [], []

    def run():
        with app.app_context():
            try:
                reports.append(seed_plans())
            except Exception as exc:  # surfaced by the assertion below
                errors.append(exc)

    try:
        db.session.remove()
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        seeding._load_plans = real_load

    assert errors == []
    assert sorted((r.count("created"), r.count("skipped")) for r in reports) == [(0, 5), (5, 0)]
    assert plan_ids() == DEFAULT_IDS


# --- Issue 12: prices, refusals listed, --skip-refused ---------------------------------------


def test_force_opens_a_new_price_and_says_who_keeps_the_old_one(runner, set_clock):
    set_clock(1_000_000)
    seed(runner)
    set_clock(2_000_000)
    change_plan("pro", price=Decimal("1590.00"))
    bulk_subscribers("pro", 299)
    bulk_subscribers("pro", 5, statuses=("trialing",))
    set_clock(3_000_000)

    result = seed(runner, "--force")

    assert result.exit_code == 0, result.output  # no confirmation needed: nobody pays more
    assert (
        "updated   pro: price 1590.00 -> 1490.00 (new subscriptions; 299 active keep 1590.00)"
        in result.stdout.splitlines()
    )
    assert [(p.amount, p.active_from, p.active_until) for p in prices_of("pro")] == [
        (Decimal("1490.00"), 1_000_000, 2_000_000),
        (Decimal("1590.00"), 2_000_000, 3_000_000),
        (Decimal("1490.00"), 3_000_000, None),
    ]
    # The 299 still pay 1590: MRR 299 × 1,590 = 475,410.00.
    assert plan_summary("pro").mrr == {"RUB": Decimal("475410.00")}
    (entry,) = db.session.scalars(
        sa.select(AuditLog).where(
            AuditLog.action == "plan_updated", AuditLog.actor == "flask seed-plans"
        )
    )
    assert entry.changes == {"price": {"old": "1590.00", "new": "1490.00"}}


def test_force_annotates_each_kind_of_price_change(runner):
    seed(runner)
    change_plan("free", price=Decimal("1.00"))  # nobody subscribed
    change_plan("starter", price=Decimal("20.00"), currency="USD")
    bulk_subscribers("starter", 3)
    change_plan("business", price=Decimal("100.00"), interval="year")
    bulk_subscribers("business", 2)
    change_plan("business", price=Decimal("200.00"), interval="year")
    bulk_subscribers("business", 1)

    lines = seed(runner, "--force").stdout.splitlines()

    assert lines[:4] == [
        "updated   free: price 1.00 -> 0.00 (new subscriptions)",
        "updated   starter: price 20.00 -> 490.00, currency USD -> RUB "
        "(new subscriptions; 3 active keep 20.00 USD)",
        "unchanged pro",
        "updated   business: price 200.00 -> 4990.00, interval year -> month "
        "(new subscriptions; 3 active keep the prices they pay)",
    ]
    assert plan_summary("starter").mrr == {"RUB": Decimal("0.00"), "USD": Decimal("60.00")}


def test_one_subscriber_keeps_in_the_singular(runner):
    seed(runner)
    change_plan("pro", price=Decimal("1590.00"))
    bulk_subscribers("pro", 1)

    lines = seed(runner, "--force").stdout.splitlines()

    assert (
        "updated   pro: price 1590.00 -> 1490.00 (new subscriptions; 1 active keeps 1590.00)"
        in lines
    )


@pytest.fixture
def two_refusals(runner):
    """Pro's and Business's requests raised in the UI while subscribed; Starter renamed."""
    seed(runner)
    for plan_id in ("pro", "business"):
        plan = db.session.get(Plan, plan_id)
        plan.quotas = {**plan.quotas, "requests": 900_000}
        add_subscription(plan_id, "active")
    db.session.get(Plan, "starter").name = "Renamed"
    db.session.commit()


PRO_REFUSED = (
    "refused   pro: Cannot decrease quota 'requests' from 900000 to 20000 while plan has "
    "active subscriptions. Create a new plan instead."
)
BUSINESS_REFUSED = (
    "refused   business: Cannot decrease quota 'requests' from 900000 to 100000 while plan has "
    "active subscriptions. Create a new plan instead."
)


def test_every_refused_plan_is_listed_in_one_run_and_nothing_is_written(runner, two_refusals):
    before = snapshot()
    result = seed(runner, "--force")
    assert result.exit_code == 3
    assert result.stdout.splitlines() == [
        "unchanged free",
        "would update starter: name Renamed -> Starter",
        PRO_REFUSED,
        BUSINESS_REFUSED,
        "unchanged unlimited",
        "would create 0, would update 1, unchanged 2, skipped 0, refused 2",
    ]
    assert result.stderr == (
        "Error: 2 plans refused: nothing was written (--skip-refused writes the others)\n"
    )
    assert snapshot() == before


def test_skip_refused_writes_the_others_and_still_exits_3(runner, two_refusals):
    result = seed(runner, "--force", "--skip-refused")
    assert result.exit_code == 3
    assert result.stdout.splitlines() == [
        "unchanged free",
        "updated   starter: name Renamed -> Starter",
        PRO_REFUSED,
        BUSINESS_REFUSED,
        "unchanged unlimited",
        "created 0, updated 1, unchanged 2, skipped 0, refused 2",
    ]
    assert result.stderr == "Error: 2 plans refused, the others written\n"
    db.session.rollback()
    assert db.session.get(Plan, "starter").name == "Starter"
    assert db.session.get(Plan, "pro").quotas["requests"] == 900_000  # left as it was
    updates = db.session.scalars(
        sa.select(AuditLog.entity_id).where(AuditLog.action == "plan_updated")
    )
    assert list(updates) == ["starter"]


def test_skip_refused_with_nothing_refused_exits_0(runner):
    seed(runner)
    db.session.get(Plan, "starter").name = "Renamed"
    db.session.commit()
    result = seed(runner, "--force", "--skip-refused")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_a_dry_run_with_refusals_exits_3_and_writes_nothing(runner, two_refusals):
    before = snapshot()
    result = seed(runner, "--force", "--dry-run")
    assert result.exit_code == 3
    assert PRO_REFUSED in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "dry run: nothing was written"
    assert snapshot() == before


def test_a_dry_run_with_skip_refused_does_not_claim_to_have_written(runner, two_refusals):
    before = snapshot()
    result = seed(runner, "--force", "--skip-refused", "--dry-run")
    assert result.exit_code == 3
    assert "would update starter: name Renamed -> Starter" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "dry run: nothing was written"
    assert snapshot() == before
    # Nothing was written, so nothing may say "written".
    assert "the others written" not in result.stderr


def test_the_exit_codes_are_documented_in_the_help(runner):
    result = runner.invoke(args=["seed-plans", "--help"])
    assert "--skip-refused" in result.output
    assert "3 when plans were refused" in " ".join(result.output.split())
