"""The audit trail's hash chain: every entry chained, whoever writes it; `flask audit verify`
finds the first broken entry; parallel writers on PostgreSQL never fork the chain."""

import itertools
import threading
import time

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor, record, record_plan_change
from billing_admin.audit.verification import latest_verification, walk_chain
from billing_admin.extensions import db
from billing_admin.models import AuditLog, AuditVerification, User, audit_chain
from billing_admin.models.audit import APPEND_LOCK_KEY
from billing_admin.models.audit_chain import GENESIS_HASH, HASHED_COLUMNS, entry_hash
from billing_admin.transactions import start_write
from tests.helpers import QueryCounter, add_user, make_app

ROBOT = Actor("robot@example.com")


def write_entries(count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        record_plan_change(
            "plan_updated", f"p{n}", {"name": {"old": f"o{n}", "new": f"n{n}"}}, actor=ROBOT
        )
        db.session.commit()


def stored_rows() -> list[dict]:
    table = AuditLog.__table__
    rows = [dict(row._mapping) for row in db.session.execute(sa.select(table).order_by(table.c.id))]
    db.session.rollback()
    return rows


def without_append_only_triggers():
    """Tampering as someone with the database's owner rights would: triggers off first."""
    if db.engine.dialect.name == "postgresql":
        statements = ["ALTER TABLE billing_audit_log DISABLE TRIGGER billing_audit_log_append_only"]
    else:
        statements = [
            "DROP TRIGGER billing_audit_log_no_update",
            "DROP TRIGGER billing_audit_log_no_delete",
        ]
    with db.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def tamper(statement: str, **params) -> None:
    db.session.rollback()
    without_append_only_triggers()
    with db.engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def test_each_entry_holds_the_hash_of_itself_and_its_predecessor(app):
    write_entries(4)
    rows = stored_rows()
    assert [row["id"] for row in rows] == [1, 2, 3, 4]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for previous, row in itertools.pairwise(rows):
        assert row["prev_hash"] == previous["entry_hash"]
    for row in rows:
        assert row["entry_hash"] == entry_hash(row)
        assert len(row["entry_hash"]) == 64


def test_the_hash_covers_every_column_but_the_user_link_and_itself(app):
    assert set(HASHED_COLUMNS) == {c.name for c in AuditLog.__table__.columns} - {
        "user_id",
        "entry_hash",
    }
    write_entries(1)
    [row] = stored_rows()
    for name in HASHED_COLUMNS:
        changed = {**row, name: "something else" if row[name] != "something else" else "x"}
        assert entry_hash(changed) != row["entry_hash"], name
    assert entry_hash({**row, "user_id": "someone"}) == row["entry_hash"]


def test_a_new_kind_of_entry_written_any_way_is_chained(app):
    """Not only plan changes: any action, any entity, and an AuditLog added to the session by
    hand, several in one flush, all go through the chain in the order they were added."""
    user = add_user("someone@example.com")
    record("subscription_canceled", "subscription", "s1", actor=Actor.for_user(user))
    db.session.add(
        AuditLog(actor="x", action="security_event", entity_type="user", entity_id=user.id)
    )
    record("price_moved", "plan", "pro", changes={"price": {"old": "1.00", "new": "2.00"}}, actor=ROBOT,
           metadata={"why": ("a", "tuple")})  # fmt: skip
    db.session.commit()
    rows = stored_rows()
    assert [row["action"] for row in rows] == [
        "subscription_canceled",
        "security_event",
        "price_moved",
    ]
    assert rows[2]["audit_metadata"] == {"why": ["a", "tuple"]}  # stored as it was hashed
    assert walk_chain().ok


def test_an_insert_that_bypasses_the_chain_is_refused(app):
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.insert(AuditLog.__table__).values(
                id=1, actor="x", action="a", entity_type="plan", entity_id="p", created_at=1
            )
        )
    db.session.rollback()


def test_verify_says_ok_with_the_count_and_records_it(app, runner, set_clock):
    write_entries(3)
    set_clock(1_800_000_000)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output == "ok, 3 entries\n"
    record_ = latest_verification()
    assert (record_.ok, record_.entries, record_.last_entry_id, record_.verified_at) == (
        True,
        3,
        3,
        1_800_000_000,
    )
    assert record_.last_entry_hash == stored_rows()[-1]["entry_hash"]


def test_verify_of_an_empty_trail(app, runner):
    result = runner.invoke(args=["audit", "verify"])
    assert (result.exit_code, result.output) == (0, "ok, 0 entries\n")


def test_verify_finds_a_changed_entry(app, runner):
    write_entries(5)
    tamper("UPDATE billing_audit_log SET actor = 'someone else' WHERE id = 3")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert (
        "broken at entry 3: its contents do not match its hash (the entry was changed)"
        in result.output
    )
    record_ = latest_verification()
    assert (record_.ok, record_.broken_entry_id, record_.entries, record_.last_entry_id) == (
        False,
        3,
        2,
        2,
    )


def test_verify_finds_a_changed_json_value(app, runner):
    write_entries(2)
    tamper(
        "UPDATE billing_audit_log SET changes = :value WHERE id = 1",
        value='{"name": {"old": "o0", "new": "forged"}}',
    )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at entry 1: its contents do not match its hash" in result.output


def test_verify_finds_a_removed_entry(app, runner):
    write_entries(5)
    tamper("DELETE FROM billing_audit_log WHERE id = 2")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at entry 3: it does not follow the entry before it" in result.output


def test_verify_finds_a_chain_rewritten_with_fresh_hashes_after_a_verification(app, runner):
    """Rewriting entry 2 and recomputing every hash after it makes a chain that holds on its
    own; the last verification's anchor (entry 4's hash) catches it."""
    write_entries(4)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    rows = stored_rows()
    without_append_only_triggers()
    previous = rows[0]["entry_hash"]
    with db.engine.begin() as connection:
        for row in rows[1:]:
            if row["id"] == 2:
                row["actor"] = "forger@example.com"
            row["prev_hash"] = previous
            row["entry_hash"] = previous = entry_hash(row)
            connection.execute(
                sa.text(
                    "UPDATE billing_audit_log SET actor = :actor, prev_hash = :p, entry_hash = :h WHERE id = :id"
                ),
                {
                    "actor": row["actor"],
                    "p": row["prev_hash"],
                    "h": row["entry_hash"],
                    "id": row["id"],
                },
            )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at entry 4: its hash differs from the one verified at" in result.output


def test_verify_finds_a_trail_cut_short_after_a_verification(app, runner):
    write_entries(4)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    tamper("DELETE FROM billing_audit_log WHERE id >= 3")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at entry 4: missing: the trail ends at entry 2" in result.output


def test_verify_reads_in_batches_of_the_given_size(app, runner):
    """Constant memory: the walk never asks for more than one batch at a time."""
    write_entries(7)
    limits = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        if "FROM billing_audit_log" in statement:
            limits.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", watch)
    try:
        result = runner.invoke(args=["audit", "verify", "--batch-size", "3"])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", watch)
    assert result.output == "ok, 7 entries\n"
    assert len(limits) == 3  # 3 + 3 + 1
    assert all("LIMIT" in statement for statement in limits)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "100001"])
def test_verify_refuses_a_nonsense_batch_size(app, runner, value):
    result = runner.invoke(args=["audit", "verify", "--batch-size", value])
    assert result.exit_code == 2
    assert "Invalid value for '--batch-size'" in result.output
    assert db.session.scalar(sa.select(sa.func.count(AuditVerification.id))) == 0


def test_a_chained_save_costs_one_statement_more(app):
    """The tail read (with the lock, on PostgreSQL), besides the INSERT itself."""
    write_entries(1)
    start_write()
    record_plan_change("plan_updated", "p", None, actor=ROBOT)
    with QueryCounter(db.engine) as counter:
        db.session.flush()
    db.session.commit()
    assert counter.count == 2


def test_deleting_a_user_keeps_their_entries_and_the_chain(app, runner):
    user = add_user("leaving@example.com", role="admin")
    record_plan_change("plan_updated", "pro", None, actor=Actor.for_user(user))
    db.session.commit()
    db.session.execute(sa.delete(User).where(User.id == user.id))
    db.session.commit()
    [row] = stored_rows()
    assert (row["user_id"], row["actor"]) == (None, "leaving@example.com")
    assert runner.invoke(args=["audit", "verify"]).output == "ok, 1 entries\n"


# --- Parallel writers on PostgreSQL ----------------------------------------------------------

WRITERS = 4
ENTRIES_EACH = 25


def advisory_waiters() -> int:
    with db.engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        ).scalar_one()


def parallel_writers(database_url: str, errors: list, written: list) -> list[threading.Thread]:
    """Threads that each append ENTRIES_EACH entries in their own app (their own connections),
    stopping at their first error. The apps are made here, one after the other: making apps in
    several threads at once compiles their URL rules at once, and CPython 3.11.7's parser is not
    safe for that ("SystemError: AST constructor recursion depth mismatch")."""
    workers = [make_app(database_url) for _ in range(WRITERS)]

    def write(number: int) -> None:
        worker = workers[number]
        with worker.app_context():
            try:
                for n in range(ENTRIES_EACH):
                    start_write()
                    record_plan_change(
                        "plan_updated", f"w{number}", {"n": {"old": n, "new": n + 1}}, actor=ROBOT
                    )
                    db.session.commit()
                    written.append(number)
            except Exception as exc:  # reported by the test
                errors.append(exc)
            finally:
                db.session.remove()
                db.engine.dispose()

    return [threading.Thread(target=write, args=(number,)) for number in range(WRITERS)]


@pytest.mark.postgresql_only
def test_parallel_writers_on_postgresql_build_one_unbroken_chain(app, database_url, runner):
    """Four workers append at once: they all start while the test holds the append lock, and
    are released together once all four wait for it."""
    write_entries(1)
    errors: list = []
    written: list = []
    threads = parallel_writers(database_url, errors, written)
    with db.engine.connect() as gate:
        gate.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": APPEND_LOCK_KEY},
        )
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while advisory_waiters() < WRITERS:
            assert time.monotonic() < deadline, "the writers never reached the append lock"
            time.sleep(0.02)
        gate.rollback()
    for thread in threads:
        thread.join(120)
    assert errors == []
    rows = stored_rows()
    assert [row["id"] for row in rows] == list(range(1, 2 + WRITERS * ENTRIES_EACH))
    result = runner.invoke(args=["audit", "verify"])
    assert result.output == f"ok, {1 + WRITERS * ENTRIES_EACH} entries\n"


@pytest.mark.postgresql_only
def test_without_the_lock_a_race_is_refused_not_forked(app, database_url, runner, monkeypatch):
    """If appends were not serialised, two writers reading the same tail would claim the same
    id: the primary key refuses the second, so the chain still holds (the lock exists so that
    this never happens to a user)."""
    monkeypatch.setattr(audit_chain, "lock_and_read_tail", audit_chain.chain_tail)
    write_entries(1)
    errors: list = []
    written: list = []
    threads = parallel_writers(database_url, errors, written)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(isinstance(error, sa.exc.IntegrityError) for error in errors), errors
    rows = stored_rows()
    assert len(rows) == 1 + len(written)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


@pytest.mark.parametrize("stored", ['{"name": {"old": "o0", "new": "n0"}} trailing', "{not json"])
def test_verify_finds_json_text_that_is_not_the_value_it_was(app, runner, stored):
    """SQLite stores JSON as text: anything after a valid value, or no valid value at all, is a
    change too."""
    if db.engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL's json type refuses text that is not JSON")
    write_entries(2)
    tamper("UPDATE billing_audit_log SET changes = :value WHERE id = 1", value=stored)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert (
        "broken at entry 1: its changes is not valid JSON (the entry was changed)" in result.output
    )
