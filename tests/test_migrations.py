"""The migrations build the schema the models declare, and can be undone, on every engine; and
migration 0006 (issue 12: prices) up and down with plans, audit entries and subscriptions present."""

from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from billing_admin.extensions import db
from billing_admin.models.user_search import SEARCH_TABLES, include_name
from tests.helpers import (
    add_plan,
    assert_refused,
    assert_sqlite_intact,
    counts_by_price,
    migration_module,
    real_counts_by_price,
    rows,
    subscription_indexes,
)
from tests.subscriber_data import bulk_subscribers

TABLES = set(db.metadata.tables)


def table_names() -> set[str]:
    """The metadata's tables (not the search index's own, models/user_search.py)."""
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version", *SEARCH_TABLES}


def test_upgrade_from_empty_creates_every_table(empty_app):
    assert table_names() == set()
    upgrade()
    assert table_names() == TABLES


def test_models_and_migrations_agree(empty_app):
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_to_base_removes_everything(empty_app):
    upgrade()
    downgrade(revision="base")
    assert table_names() == set()
    upgrade()  # and back up again from nothing
    assert table_names() == TABLES


def test_the_subscriber_index_covers_plan_then_newest_first(empty_app):
    upgrade()
    columns = subscription_indexes()
    assert columns["ix_billing_subscription_plan_created"] == ["plan_id", "created_at", "id"]


def test_existing_users_get_their_own_session_token_when_0002_runs(empty_app):
    upgrade(revision="0001")
    users = sa.table("user", *(sa.column(c) for c in ("id", "email", "name", "role", "created_at")))
    with db.engine.begin() as connection:
        connection.execute(
            sa.insert(users),
            [
                {
                    "id": f"u{n}",
                    "email": f"u{n}@example.com",
                    "name": "",
                    "role": "admin",
                    "created_at": 1,
                }
                for n in range(2)
            ],
        )
    upgrade()
    with db.engine.connect() as connection:
        tokens = connection.execute(sa.text('SELECT session_token FROM "user"')).scalars().all()
    assert len(set(tokens)) == 2
    assert all(len(token) == 32 for token in tokens)


def test_the_upgraded_schema_keeps_subscriber_counts(empty_app):
    """Migration 0003's triggers (a frozen copy of the models') count inserts, moves, deletes,
    and its backfill counts the rows that were there before."""
    upgrade(revision="0002")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
            "VALUES ('u', 'u@example.com', '', 'user', 1, 't')"
        )
        connection.exec_driver_sql(
            "INSERT INTO billing_plan (id, name, price, currency, interval, is_active, "
            "display_order, created_at, updated_at, version) "
            "VALUES ('a', 'A', 1, 'RUB', 'month', true, 0, 1, 1, 1), "
            "('b', 'B', 1, 'RUB', 'month', true, 0, 1, 1, 1)"
        )
        insert = (
            "INSERT INTO billing_subscription (id, user_id, plan_id, status, "
            "current_period_start, current_period_end, cancel_at_period_end, created_at, "
            "updated_at) VALUES (:id, 'u', :plan, :status, 1, 2, false, 1, 1)"
        )
        connection.execute(sa.text(insert), [{"id": "old", "plan": "a", "status": "active"}])
    upgrade(revision="0005")  # the last revision that counts without prices (0006 adds them)
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(insert),
            [
                {"id": "s1", "plan": "a", "status": "active"},
                {"id": "s2", "plan": "a", "status": "trialing"},
                {"id": "s3", "plan": "b", "status": "active"},
            ],
        )
        connection.exec_driver_sql(
            "UPDATE billing_subscription SET status = 'canceled' WHERE id = 's2'"
        )
        connection.exec_driver_sql("UPDATE billing_subscription SET plan_id = 'b' WHERE id = 's1'")
        connection.exec_driver_sql("DELETE FROM billing_subscription WHERE id = 's3'")
    counts = rows(
        "SELECT plan_id, status, count FROM billing_plan_subscription_count "
        "WHERE count <> 0 ORDER BY plan_id, status"
    )
    assert counts == [
        ("a", "active", 1),
        ("a", "canceled", 1),
        ("b", "active", 1),
    ]


def test_downgrading_0004_keeps_the_counting_triggers(empty_app):
    upgrade()
    downgrade(revision="0003")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
            "VALUES ('u', 'u@example.com', '', 'user', 1, 't')"
        )
        connection.exec_driver_sql(
            "INSERT INTO billing_plan (id, name, price, currency, interval, is_active, "
            "display_order, created_at, updated_at, version) "
            "VALUES ('a', 'A', 1, 'RUB', 'month', true, 0, 1, 1, 1)"
        )
        connection.exec_driver_sql(
            "INSERT INTO billing_subscription (id, user_id, plan_id, status, current_period_start, "
            "current_period_end, cancel_at_period_end, created_at, updated_at) "
            "VALUES ('s', 'u', 'a', 'active', 1, 2, false, 1, 1)"
        )
        count = connection.exec_driver_sql(
            "SELECT count FROM billing_plan_subscription_count WHERE plan_id = 'a'"
        ).scalar()
    assert count == 1


# --- Migration 0006 (issue 12): prices, with plans, audit entries and subscriptions present ----

# Plan a: RUB 490.00 a month, created at 100; its audit log has price changes at 150 and 300
# (the last one, 300, is when its current price came into force) and a name change at 400.
# Plan b: USD 20.00 a year, created at 200; a currency change at 250, an interval change at 260.
# Plan c: created at 300, never changed, no subscriptions.
PLANS_0005 = (
    "INSERT INTO billing_plan (id, name, price, currency, interval, is_active, display_order, "
    "created_at, updated_at, version) VALUES "
    "('a', 'A', 490.00, 'RUB', 'month', true, 0, 100, 400, 4), "
    "('b', 'B', 20.00, 'USD', 'year', true, 1, 200, 260, 3), "
    "('c', 'C', 0.00, 'RUB', 'month', true, 2, 300, 300, 1)"
)
AUDIT_0005 = [
    ("a", "plan_created", {"price": {"old": None, "new": "390.00"}}, 100),
    ("a", "plan_updated", {"price": {"old": "390.00", "new": "440.00"}}, 150),
    ("a", "plan_updated", {"price": {"old": "440.00", "new": "490.00"}}, 300),
    ("a", "plan_updated", {"name": {"old": "Old", "new": "A"}}, 400),
    ("b", "plan_updated", {"currency": {"old": "RUB", "new": "USD"}}, 250),
    ("b", "plan_updated", {"interval": {"old": "month", "new": "year"}}, 260),
    ("c", "plan_activated", {"is_active": {"old": False, "new": True}}, 350),
    ("gone", "plan_updated", {"price": {"old": "1.00", "new": "2.00"}}, 500),  # a deleted plan
]
# (id, plan, status) of the subscriptions present before 0006.
SUBSCRIPTIONS_0005 = [
    ("s1", "a", "active"),
    ("s2", "a", "active"),
    ("s3", "a", "trialing"),
    ("s4", "a", "canceled"),
    ("s5", "b", "active"),
    ("s6", "b", "paused"),
]
INSERT_SUBSCRIPTION = (
    "INSERT INTO billing_subscription (id, user_id, plan_id, status, current_period_start, "
    "current_period_end, cancel_at_period_end, created_at, updated_at) "
    "VALUES (:id, 'u', :plan, :status, 1, 2, false, 1, 1)"
)


def fill_0005() -> None:
    audit = sa.table(
        "billing_audit_log",
        *(sa.column(c) for c in ("actor", "action", "entity_type", "entity_id", "created_at")),
        sa.column("changes", sa.JSON),
    )
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
            "VALUES ('u', 'u@example.com', '', 'user', 1, 't')"
        )
        connection.exec_driver_sql(PLANS_0005)
        connection.execute(
            sa.insert(audit),
            [
                {
                    "actor": "someone",
                    "action": action,
                    "entity_type": "plan",
                    "entity_id": plan_id,
                    "changes": changes,
                    "created_at": at,
                }
                for plan_id, action, changes, at in AUDIT_0005
            ],
        )
        connection.execute(
            sa.text(INSERT_SUBSCRIPTION),
            [{"id": i, "plan": plan, "status": status} for i, plan, status in SUBSCRIPTIONS_0005],
        )


def counts_by_status() -> list[tuple]:
    return rows(
        "SELECT plan_id, status, count FROM billing_plan_subscription_count "
        "WHERE count <> 0 ORDER BY plan_id, status"
    )


def real_counts_by_status() -> list[tuple]:
    return rows(
        "SELECT plan_id, status, count(*) FROM billing_subscription "
        "GROUP BY plan_id, status ORDER BY plan_id, status"
    )


def assert_subscription_constraints_hold(with_price: bool, present: int = 6) -> None:
    """The CHECK on status and every foreign key of billing_subscription (after SQLite's table
    rebuilds): a bad status, an unknown user, an unknown plan, another plan's price."""
    price_column = ", price_id" if with_price else ""
    good_price = ", (SELECT id FROM billing_price WHERE plan_id = 'a')" if with_price else ""
    insert = (
        "INSERT INTO billing_subscription (id, user_id, plan_id, status, current_period_start, "
        f"current_period_end, cancel_at_period_end, created_at, updated_at{price_column}) "
        "VALUES ('bad', :user, :plan, :status, 1, 2, false, 1, 1{price})"
    )
    ok = {"user": "u", "plan": "a", "status": "active"}
    assert_refused(insert.format(price=good_price), {**ok, "status": "bogus"})
    assert_refused(insert.format(price=good_price), {**ok, "user": "nobody"})
    assert_refused(insert.format(price=good_price.replace("'a'", "'nope'")), {**ok, "plan": "nope"})
    if with_price:
        other_plans_price = ", (SELECT id FROM billing_price WHERE plan_id = 'b')"
        assert_refused(insert.format(price=other_plans_price), ok)
        assert_refused(insert.format(price=", NULL"), ok)
        assert_refused("UPDATE billing_subscription SET plan_id = 'b' WHERE id = 's1'")
    else:
        assert_refused("UPDATE billing_subscription SET plan_id = 'nope' WHERE id = 's1'")
    assert rows("SELECT count(*) FROM billing_subscription") == [(present,)]  # none of those
    assert_sqlite_intact()


def test_0006_gives_each_plan_its_price_since_its_last_recorded_change(empty_app):
    upgrade(revision="0005")
    fill_0005()
    upgrade(revision="0006")
    assert rows(
        "SELECT plan_id, amount, currency, interval, active_from, active_until, created_at "
        "FROM billing_price ORDER BY plan_id"
    ) == [
        ("a", Decimal("490.00"), "RUB", "month", 300, None, 300),  # price change at 300
        ("b", Decimal("20.00"), "USD", "year", 260, None, 260),  # interval change at 260
        ("c", Decimal("0.00"), "RUB", "month", 300, None, 300),  # never changed: created
    ]


def test_0006_points_every_subscription_at_its_plans_price_and_counts_by_price(empty_app):
    upgrade(revision="0005")
    fill_0005()
    upgrade(revision="0006")
    prices = dict(rows("SELECT plan_id, id FROM billing_price"))
    assert rows("SELECT id, plan_id, price_id FROM billing_subscription ORDER BY id") == [
        (i, plan, prices[plan]) for i, plan, _ in SUBSCRIPTIONS_0005
    ]
    assert (
        counts_by_price()
        == real_counts_by_price()
        == [
            ("a", prices["a"], "active", 2),
            ("a", prices["a"], "canceled", 1),
            ("a", prices["a"], "trialing", 1),
            ("b", prices["b"], "active", 1),
            ("b", prices["b"], "paused", 1),
        ]
    )


def test_0006_keeps_the_subscription_tables_constraints_and_indexes(empty_app):
    upgrade(revision="0005")
    fill_0005()
    before = subscription_indexes()
    upgrade(revision="0006")
    after = subscription_indexes()
    # One index more: a price's subscriptions in id order (the move walks it in batches).
    assert after == {**before, "ix_billing_subscription_price": ["price_id", "id"]}
    assert_subscription_constraints_hold(with_price=True)
    upgrade()  # the revisions after 0006 (the audit chain's) before comparing with the models
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        assert compare_metadata(context, db.metadata) == []


def test_0006s_triggers_keep_prices_and_counts_after_the_upgrade(empty_app):
    upgrade(revision="0005")
    fill_0005()
    upgrade(revision="0006")
    with db.engine.begin() as connection:
        # A price change made by any writer opens a new price; existing subscriptions keep theirs.
        connection.exec_driver_sql(
            "UPDATE billing_plan SET price = 590.00, updated_at = 1000 WHERE id = 'a'"
        )
        connection.exec_driver_sql("UPDATE billing_plan SET name = 'AA' WHERE id = 'a'")
    assert rows(
        "SELECT amount, active_from, active_until FROM billing_price WHERE plan_id = 'a' ORDER BY id"
    ) == [(Decimal("490.00"), 300, 1000), (Decimal("590.00"), 1000, None)]
    new_price = rows("SELECT id FROM billing_price WHERE plan_id = 'a' AND active_until IS NULL")
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO billing_subscription (id, user_id, plan_id, price_id, status, "
                "current_period_start, current_period_end, cancel_at_period_end, created_at, "
                "updated_at) VALUES ('s7', 'u', 'a', :price, 'active', 1, 2, false, 1, 1)"
            ),
            {"price": new_price[0][0]},
        )
        connection.exec_driver_sql(
            "UPDATE billing_subscription SET status = 'canceled' WHERE id = 's1'"
        )
        connection.exec_driver_sql("DELETE FROM billing_subscription WHERE id = 's6'")
    assert counts_by_price() == real_counts_by_price()
    assert_refused("UPDATE billing_price SET amount = 1 WHERE plan_id = 'a'")


def test_0006_down_restores_counts_by_plan_and_status_with_0003s_triggers(empty_app):
    upgrade(revision="0005")
    fill_0005()
    upgrade(revision="0006")
    with db.engine.begin() as connection:  # a price change and a subscription on the new price
        connection.exec_driver_sql(
            "UPDATE billing_plan SET price = 590.00, updated_at = 1000 WHERE id = 'a'"
        )
        connection.exec_driver_sql(
            "INSERT INTO billing_subscription (id, user_id, plan_id, price_id, status, "
            "current_period_start, current_period_end, cancel_at_period_end, created_at, "
            "updated_at) SELECT 's7', 'u', 'a', id, 'active', 1, 2, false, 1, 1 "
            "FROM billing_price WHERE plan_id = 'a' AND active_until IS NULL"
        )
    downgrade(revision="0005")

    assert "billing_price" not in table_names() and "billing_price_move" not in table_names()
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("billing_subscription")}
    assert "price_id" not in columns
    # The plan's columns still hold the current price; every subscription is still there.
    assert rows("SELECT id, price FROM billing_plan ORDER BY id") == [
        ("a", Decimal("590.00")),
        ("b", Decimal("20.00")),
        ("c", Decimal("0.00")),
    ]
    assert rows("SELECT count(*) FROM billing_subscription") == [(len(SUBSCRIPTIONS_0005) + 1,)]
    assert (
        counts_by_status()
        == real_counts_by_status()
        == [
            ("a", "active", 3),
            ("a", "canceled", 1),
            ("a", "trialing", 1),
            ("b", "active", 1),
            ("b", "paused", 1),
        ]
    )
    with db.engine.begin() as connection:  # 0003's triggers count again
        connection.execute(
            sa.text(INSERT_SUBSCRIPTION), {"id": "s8", "plan": "b", "status": "trialing"}
        )
        connection.exec_driver_sql(
            "UPDATE billing_subscription SET status = 'canceled' WHERE id = 's7'"
        )
        connection.exec_driver_sql("UPDATE billing_subscription SET plan_id = 'c' WHERE id = 's5'")
        connection.exec_driver_sql("DELETE FROM billing_subscription WHERE id = 's6'")
        connection.exec_driver_sql("UPDATE billing_plan SET price = 1.00 WHERE id = 'b'")
    assert counts_by_status() == real_counts_by_status()
    assert ("c", "active", 1) in counts_by_status()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM billing_subscription WHERE id IN ('s7', 's8')")
        connection.exec_driver_sql("UPDATE billing_subscription SET plan_id = 'b' WHERE id = 's5'")
    assert_subscription_constraints_hold(with_price=False, present=5)  # s6 was deleted


def test_0006_up_again_after_down(empty_app):
    upgrade(revision="0005")
    fill_0005()
    upgrade(revision="0006")
    downgrade(revision="0005")
    upgrade()
    assert len(rows("SELECT id FROM billing_price")) == 3  # one a plan, from the audit log again
    assert rows("SELECT active_from FROM billing_price WHERE plan_id = 'a'") == [(300,)]
    assert counts_by_price() == real_counts_by_price()
    assert len(counts_by_price()) == 5
    assert_subscription_constraints_hold(with_price=True)


AUDIT_CHAIN = migration_module("0011")


def _insert_old_audit_entries(connection, count: int) -> None:
    connection.exec_driver_sql(
        'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
        "VALUES ('u', 'u@example.com', '', 'admin', 1, 't')"
    )
    connection.execute(
        sa.text(
            "INSERT INTO billing_audit_log (id, user_id, actor, action, entity_type, entity_id, "
            "description, changes, audit_metadata, created_at) VALUES (:id, :user, 'u@example.com', "
            "'plan_updated', 'plan', 'pro', :description, :changes, NULL, :created_at)"
        ),
        [
            {
                "id": n * 2,  # gaps, as a sequence leaves after rolled-back inserts
                "user": "u" if n % 2 else None,
                "description": None if n % 3 else "Cena \u20bd",
                "changes": f'{{"price": {{"old": "{n}.00", "new": "{n + 1}.00"}}}}',
                "created_at": 1_700_000_000 + n,
            }
            for n in range(1, count + 1)
        ],
    )


def test_0011_chains_the_entries_already_there_and_makes_them_append_only(empty_app):
    from billing_admin.audit.service import Actor, record_plan_change
    from billing_admin.audit.verification import walk_chain
    from billing_admin.models import AuditLog

    upgrade(revision=AUDIT_CHAIN.down_revision)
    with db.engine.begin() as connection:
        _insert_old_audit_entries(connection, 12)
    upgrade()
    report = walk_chain(batch_size=5)
    assert (report.ok, report.entries, report.last_entry_id) == (True, 12, 24)
    # New entries continue the chain after the old ones.
    record_plan_change("plan_updated", "pro", None, actor=Actor("x"))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.max(AuditLog.id))) == 25
    assert walk_chain().entries == 13
    # The triggers are in place; the foreign key's SET NULL still works.
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM \"user\" WHERE id = 'u'")
    for statement in ("DELETE FROM billing_audit_log", "UPDATE billing_audit_log SET actor = 'y'"):
        try:
            with db.engine.begin() as connection:
                connection.exec_driver_sql(statement)
        except sa.exc.IntegrityError as error:
            assert "append-only" in str(error.orig)
        else:
            raise AssertionError(f"{statement} was allowed")
    assert walk_chain().ok


def test_0011_downgrade_keeps_the_entries_and_lets_older_downgrades_delete_them(empty_app):
    from billing_admin.audit.service import Actor, record_plan_change
    from billing_admin.audit.verification import walk_chain

    upgrade()
    for n in range(3):
        record_plan_change("plan_updated", f"p{n}", None, actor=Actor("x"))
        db.session.commit()
    db.session.remove()
    downgrade(revision=AUDIT_CHAIN.down_revision)
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("billing_audit_log")}
    assert {"prev_hash", "entry_hash"}.isdisjoint(columns)
    assert "billing_audit_verification" not in table_names()
    with db.engine.begin() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM billing_audit_log").scalar() == 3
        connection.exec_driver_sql("UPDATE billing_audit_log SET actor = 'y' WHERE id = 1")
        connection.exec_driver_sql("DELETE FROM billing_audit_log WHERE id = 1")
    upgrade()  # and up again, chaining what is left
    assert walk_chain().entries == 2


def test_0016_up_and_down_with_form_submissions_present(empty_app):
    """One-time form submissions (issue 16): the table comes and goes with rows in it, and
    the revisions below it keep their data."""
    upgrade(revision="0016")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
            "VALUES ('u', 'u@example.com', '', 'admin', 1, 't')"
        )
        connection.execute(
            sa.text(
                "INSERT INTO form_submission (key_hash, result_url, created_at) "
                "VALUES (:key, :url, :at)"
            ),
            [
                {"key": "a" * 64, "url": "/admin/plans/pro_plus", "at": 1_700_000_000},
                {"key": "b" * 64, "url": None, "at": 1_700_000_001},
            ],
        )
    downgrade(revision="0016-1")
    assert "form_submission" not in table_names()
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql('SELECT email FROM "user"').scalar() == "u@example.com"
    upgrade()
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM form_submission").scalar() == 0
    assert table_names() == TABLES


def test_0015_up_and_down_with_chosen_time_zones(empty_app):
    """The admin's time zone (issue 16): existing accounts get none (the app's
    DISPLAY_TIMEZONE); down forgets the choices and keeps the accounts; up again works."""
    upgrade(revision="0013")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
            "VALUES ('a', 'a@example.com', '', 'admin', 1, 't1'), "
            "('v', 'v@example.com', '', 'user', 1, 't2')"
        )
        connection.exec_driver_sql(
            "INSERT INTO admin_account (user_id, role, created_at, must_change_password) "
            "VALUES ('a', 'admin', 1, false), ('v', 'viewer', 1, false)"
        )
    upgrade(revision="0015")
    with db.engine.begin() as connection:
        zones = connection.exec_driver_sql("SELECT time_zone FROM admin_account").scalars().all()
        assert zones == [None, None]
        connection.exec_driver_sql(
            "UPDATE admin_account SET time_zone = 'Europe/Moscow' WHERE user_id = 'a'"
        )
    downgrade(revision="0013")
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("admin_account")}
    assert "time_zone" not in columns
    accounts = rows("SELECT user_id, role FROM admin_account ORDER BY user_id")
    assert accounts == [("a", "admin"), ("v", "viewer")]
    upgrade()
    with db.engine.connect() as connection:
        zones = connection.exec_driver_sql("SELECT time_zone FROM admin_account").scalars().all()
    assert zones == [None, None]
    assert table_names() == TABLES


def finds(text: str) -> set[str]:
    """The ids of the users a search for ``text`` finds (an exact email, or every match)."""
    from billing_admin.subscribers.search import UserSearch, exact_email_user, matching_users

    search = UserSearch.parse(text)
    exact = exact_email_user(search)
    found = {exact} if exact else set(db.session.scalars(matching_users(search)))
    db.session.rollback()
    return found


def write(sql: str) -> None:
    with db.engine.begin() as connection:
        connection.exec_driver_sql(sql)


def test_0017_moves_postgresqls_search_to_its_own_table_with_users_present(empty_app):
    """PostgreSQL's search rows (issue 13): up fills ``billing_user_search`` from the users
    already there (normalised: case, ё/е) and drops 0012's indexes on "user"; its trigger
    follows later writes; down restores 0012's indexes; up again works. SQLite: unchanged."""
    upgrade(revision="0015")
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
            "VALUES ('a', 'Elkin@Example.ru', 'Ёлкин Пётр', 'user', 1, 't1'), "
            "('b', 'ann@example.com', 'Ann', 'user', 1, 't2')"
        )
    upgrade(revision="0017")

    assert finds("елкин") == {"a"} and finds("elkin@example.ru") == {"a"}
    assert finds("example") == {"a", "b"} and finds("an") == {"b"}
    with db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE \"user\" SET name = 'Жёлудев' WHERE id = 'b'")
        connection.exec_driver_sql("DELETE FROM \"user\" WHERE id = 'a'")
    assert finds("желуд") == {"b"} and finds("елкин") == set()
    postgresql = db.engine.dialect.name == "postgresql"

    def indexes_on_user() -> set[str]:
        return {index["name"] for index in sa.inspect(db.engine).get_indexes("user")}

    old_indexes = {"ux_user_email_normalised", "ix_user_name_normalised"}
    assert not indexes_on_user() & old_indexes
    db.session.remove()
    downgrade(revision="0015")
    if postgresql:
        assert "billing_user_search" not in sa.inspect(db.engine).get_table_names()
        assert old_indexes | {"ix_user_email_trgm", "ix_user_name_trgm"} <= indexes_on_user()
    upgrade()
    assert finds("желуд") == {"b"} and finds("ann@example.com") == {"b"}
    assert table_names() == TABLES


def test_0018_folds_accented_capitals_of_users_present_and_of_later_writes(empty_app, capfd):
    """Accented Latin capitals and Ґ (issue 13): up folds the stored rows of the users already
    there and the rows of later writes; down restores 0012's rule; up again works; an upgrade
    that would make two emails equal is refused with them named, and changes nothing."""
    upgrade(revision="0017")
    write(
        'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
        "VALUES ('a', 'ÉLISE@École.fr', 'Łukasz Ґудзь', 'user', 1, 't1'), "
        "('b', 'plain@example.com', 'Ann', 'user', 1, 't2')"
    )
    assert finds("łukasz") == set() and finds("élise@école.fr") == set()  # 0012's rule
    upgrade(revision="0018")
    assert finds("łukasz") == {"a"} and finds("ґудзь") == {"a"}
    assert finds("élise@école.fr") == {"a"} and finds("ann") == {"b"}
    write("UPDATE \"user\" SET name = 'ŻANETA' WHERE id = 'b'")
    write(
        'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
        "VALUES ('c', 'ÖZIL@x.de', 'Mesut', 'user', 1, 't3')"
    )
    assert finds("żaneta") == {"b"} and finds("özil@x.de") == {"c"}
    db.session.remove()
    downgrade(revision="0017")
    assert finds("łukasz") == set() and finds("ann") == set() and finds("mesut") == {"c"}
    write(
        'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
        "VALUES ('d', 'élise@école.fr', 'Other', 'user', 1, 't4')"
    )  # distinct from ÉLISE@École.fr under 0012's rule, equal under 0018's
    db.session.remove()
    capfd.readouterr()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the error, then exits
        upgrade(revision="0018")
    assert "these would not: élise@école.fr" in capfd.readouterr().err
    db.session.remove()
    write("DELETE FROM \"user\" WHERE id = 'd'")
    upgrade()
    assert finds("łukasz") == {"a"} and finds("żaneta") == {"b"}
    assert table_names() == TABLES


def test_0019_a_truncate_of_the_subscriptions_empties_their_counts(empty_app):
    """PostgreSQL (found trying to break issue 13): up takes the counts again from the
    subscriptions (here left behind by a TRUNCATE before it) and from then on a TRUNCATE empties
    them; down drops the trigger. SQLite has no TRUNCATE: unchanged."""
    postgresql = db.engine.dialect.name == "postgresql"
    upgrade(revision="0018")  # 0019 adds no column: the models fit
    add_plan("pro")
    bulk_subscribers("pro", 3)

    def counts() -> int:
        db.session.remove()
        return rows("SELECT coalesce(sum(count), 0) FROM billing_plan_subscription_count")[0][0]

    assert counts() == 3
    if postgresql:
        write("TRUNCATE billing_subscription")
        assert counts() == 3  # 0018: left behind
        bulk_subscribers("pro", 1)
    upgrade(revision="0019")
    assert counts() == (1 if postgresql else 3)  # taken again from the subscriptions there
    if postgresql:
        write("TRUNCATE billing_subscription")
        assert counts() == 0
        bulk_subscribers("pro", 2)
        assert counts() == 2
    downgrade(revision="0018")
    if postgresql:
        write("TRUNCATE billing_subscription")
        assert counts() == 2  # the trigger went with the migration
    upgrade()
    assert table_names() == TABLES
