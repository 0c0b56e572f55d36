"""`flask backup PATH`: a consistent, checked, owner-only copy of the SQLite database taken
while the app writes; a refusal pointing to pg_dump on PostgreSQL."""

import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from billing_admin.extensions import db
from billing_admin.models import Plan, PlanSubscriptionCount, Subscription
from billing_admin.plans.seeding import seed_plans
from billing_admin.subscribers.demo import seed_demo
from tests.helpers import add_subscription, make_app


@pytest.fixture
def live_app(tmp_path):
    """The app over a migrated SQLite file with plans, subscriptions and audit entries."""
    app = make_app(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    with app.app_context():
        upgrade()
        seed_plans(include_annual=True)
        seed_demo(3_000, random_seed=1)
        yield app
        db.session.remove()
        db.engine.dispose()


class Writer(threading.Thread):
    """Adds subscriptions one transaction at a time, through its own app, until stopped."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.app = make_app(database_url)
        self.stop = threading.Event()
        self.writes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        with self.app.app_context():
            try:
                while not self.stop.is_set():
                    add_subscription("pro", "active" if self.writes % 2 else "trialing")
                    db.session.commit()
                    self.writes += 1
            except BaseException as exc:
                self.error = exc
            finally:
                db.session.remove()
                db.engine.dispose()

    def wait_for(self, writes: int) -> None:
        deadline = time.monotonic() + 30
        while self.writes < writes and self.error is None:
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.005)


def open_copy(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def test_a_backup_taken_while_writes_run_is_consistent_and_opens_with_the_app(live_app, tmp_path):
    writer = Writer(live_app.config["SQLALCHEMY_DATABASE_URI"])
    writer.start()
    writer.wait_for(20)
    before = writer.writes
    target = tmp_path / "copies" / "billing.sqlite3"
    target.parent.mkdir()
    result = live_app.test_cli_runner().invoke(args=["backup", str(target)])
    during = writer.writes
    writer.wait_for(during + 20)  # and the writes go on after it
    writer.stop.set()
    writer.join(30)
    assert writer.error is None, writer.error
    assert result.exit_code == 0, result.output
    assert before < writer.writes

    lines = result.output.splitlines()
    assert lines[0].startswith(f"wrote {target} (") and lines[0].endswith(" bytes, mode 0600)")
    assert (
        lines[1]
        == "integrity ok, foreign keys ok, subscription counts agree with the subscriptions"
    )
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not Path(f"{target}-wal").exists()  # one self-contained file

    copy = open_copy(target)
    assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    subscriptions = copy.execute("SELECT count(*) FROM billing_subscription").fetchone()[0]
    assert (
        copy.execute("SELECT sum(count) FROM billing_plan_subscription_count").fetchone()[0]
        == subscriptions
    )
    per_status = copy.execute(
        "SELECT plan_id, status, count(*) FROM billing_subscription GROUP BY plan_id, status ORDER BY 1, 2"
    ).fetchall()
    counted = copy.execute(
        "SELECT plan_id, status, count FROM billing_plan_subscription_count WHERE count <> 0 ORDER BY 1, 2"
    ).fetchall()
    assert per_status == counted
    # A moment between the writer's first and last write: some of its rows, not all.
    assert 3_000 + before <= subscriptions <= 3_000 + writer.writes
    assert f"billing_subscription {subscriptions}" in lines[2]
    copy.close()

    restored = make_app(f"sqlite:///{target}")
    with restored.app_context():
        upgrade()
        assert db.session.scalar(sa.select(sa.func.count(Plan.id))) == 8
        assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == subscriptions
        verify = restored.test_cli_runner().invoke(args=["audit", "verify"])
        assert verify.output == "ok, 8 entries\n"
        db.session.remove()
        db.engine.dispose()


def test_an_existing_file_is_not_replaced_without_force(live_app, tmp_path):
    target = tmp_path / "billing.sqlite3"
    target.write_text("an older backup")
    runner = live_app.test_cli_runner()
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 1
    assert (
        result.output
        == f"Error: {target} exists: choose another path, or pass --force to replace it\n"
    )
    assert target.read_text() == "an older backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".billing")] == []

    result = runner.invoke(args=["backup", "--force", str(target)])
    assert result.exit_code == 0, result.output
    assert open_copy(target).execute("SELECT count(*) FROM billing_plan").fetchone() == (8,)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_copy_that_fails_its_check_is_not_kept(live_app, tmp_path):
    """Counts that disagree with the rows (a broken database) fail the backup: nothing is left
    at the target, and no temporary file either."""
    db.session.execute(
        sa.update(PlanSubscriptionCount)
        .where(PlanSubscriptionCount.plan_id == "pro")
        .values(count=PlanSubscriptionCount.count + 1)
    )
    db.session.commit()
    target = tmp_path / "out" / "billing.sqlite3"
    target.parent.mkdir()
    result = live_app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 1
    assert (
        result.output == "Error: the copy's subscription counts disagree with its subscriptions\n"
    )
    assert list(target.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("missing/billing.sqlite3", "Error: the folder {tmp}/missing does not exist\n"),
        (".", "Error: {tmp} is a folder: give the path of the file to write\n"),
        (
            "live.sqlite3",
            "Error: {tmp}/live.sqlite3 exists: choose another path, or pass --force to replace it\n",
        ),
    ],
)
def test_a_path_it_cannot_write_is_one_line(live_app, tmp_path, path, message):
    result = live_app.test_cli_runner().invoke(args=["backup", str(tmp_path / path)])
    assert result.exit_code != 0
    assert message.format(tmp=tmp_path) in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_database_itself_is_never_the_target(live_app, tmp_path):
    result = live_app.test_cli_runner().invoke(
        args=["backup", "--force", str(tmp_path / "live.sqlite3")]
    )
    assert result.exit_code == 1
    assert result.output == "Error: the backup cannot replace the database itself\n"


def test_postgresql_is_refused_with_a_pointer_to_pg_dump(tmp_path):
    app = make_app("postgresql+psycopg://user:secret@db.invalid:5432/billing")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "on PostgreSQL use pg_dump" in result.output
    assert "secret" not in result.output
    assert not (tmp_path / "x").exists()
