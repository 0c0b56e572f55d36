"""Subscription counts kept by triggers, and demo data (`flask seed-demo`)."""

import random
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import (
    SUBSCRIPTION_STATUSES,
    Plan,
    PlanSubscriptionCount,
    Subscription,
    User,
)
from billing_admin.reporting.counts import subscription_counts
from billing_admin.subscribers.demo import PERIOD_SECONDS, TRIAL_DAYS
from tests.helpers import add_plan, add_subscription, add_user, current_price_id, make_app
from tests.subscriber_data import bulk_subscribers

DAY = 86_400
NOW = 1_800_000_000

# --- Counts kept by triggers -----------------------------------------------------------------


def real_counts() -> dict[tuple[str, int, str], int]:
    """Subscriptions per plan, price and status, counted the slow way."""
    columns = (Subscription.plan_id, Subscription.price_id, Subscription.status)
    query = sa.select(*columns, sa.func.count()).group_by(*columns)
    return {(plan_id, price, status): n for plan_id, price, status, n in db.session.execute(query)}


def kept_counts() -> dict[tuple[str, int, str], int]:
    """The trigger-kept counts, by plan, price and status (issue 12); zero rows (a key that
    had some) are left out."""
    rows = db.session.execute(
        sa.select(
            PlanSubscriptionCount.plan_id,
            PlanSubscriptionCount.price_id,
            PlanSubscriptionCount.status,
            PlanSubscriptionCount.count,
        )
    ).all()
    assert all(count >= 0 for *_, count in rows), rows
    return {(plan_id, price, status): count for plan_id, price, status, count in rows if count}


def by_plan(counts: dict[tuple[str, int, str], int]) -> dict[tuple[str, str], int]:
    """Counts summed over prices: (plan, status) → count."""
    summed: dict[tuple[str, str], int] = Counter()
    for (plan_id, _, status), count in counts.items():
        summed[(plan_id, status)] += count
    return {key: count for key, count in summed.items() if count}


def assert_counts_exact() -> None:
    db.session.commit()
    real = real_counts()
    assert kept_counts() == real
    db.session.rollback()


def move_to_plan(plan_id: str) -> dict:
    """The columns that move a subscription to another plan: the plan and its current price
    (the database refuses a subscription paying another plan's price)."""
    return {"plan_id": plan_id, "price_id": current_price_id(plan_id)}


@pytest.fixture
def plans(app):
    add_plan("pro")
    add_plan("team")
    add_plan("free")


def test_orm_inserts_are_counted(plans):
    for status in ("active", "active", "trialing", "canceled"):
        add_subscription("pro", status)
    add_subscription("team", "paused")
    assert_counts_exact()
    assert by_plan(kept_counts()) == {
        ("pro", "active"): 2,
        ("pro", "trialing"): 1,
        ("pro", "canceled"): 1,
        ("team", "paused"): 1,
    }


def test_orm_status_changes_are_counted(plans):
    first = add_subscription("pro", "trialing")
    second = add_subscription("pro", "trialing")
    db.session.commit()
    first.status = "active"
    db.session.commit()
    assert by_plan(kept_counts()) == {("pro", "trialing"): 1, ("pro", "active"): 1}
    second.status = "past_due"
    db.session.flush()
    second.status = "canceled"
    db.session.commit()
    assert_counts_exact()
    assert by_plan(kept_counts()) == {("pro", "active"): 1, ("pro", "canceled"): 1}


def test_orm_plan_changes_are_counted(plans):
    subscription = add_subscription("pro", "active")
    add_subscription("pro", "active")
    db.session.commit()
    # Since issue 12 a subscription changing plan changes price too (the foreign key demands it).
    subscription.plan_id, subscription.price_id = "team", current_price_id("team")
    db.session.commit()
    assert by_plan(kept_counts()) == {("pro", "active"): 1, ("team", "active"): 1}
    subscription.plan_id, subscription.price_id = "free", current_price_id("free")
    subscription.status = "paused"
    db.session.commit()
    assert_counts_exact()
    assert by_plan(kept_counts()) == {("pro", "active"): 1, ("free", "paused"): 1}


def test_orm_deletes_are_counted(plans):
    keep = add_subscription("pro", "active")
    gone = [add_subscription("pro", "active"), add_subscription("team", "canceled")]
    db.session.commit()
    for subscription in gone:
        db.session.delete(subscription)
    db.session.commit()
    assert_counts_exact()
    assert by_plan(kept_counts()) == {("pro", "active"): 1}
    assert keep.id


def test_changes_to_other_columns_leave_the_counts_alone(plans):
    subscription = add_subscription("pro", "active")
    db.session.commit()
    before = kept_counts()
    subscription.cancel_at_period_end = True
    subscription.current_period_end += DAY
    db.session.commit()
    db.session.execute(
        sa.update(Subscription).values(status=Subscription.status, price_id=Subscription.price_id)
    )
    db.session.commit()
    assert kept_counts() == before
    assert by_plan(before) == {("pro", "active"): 1}


def test_core_bulk_inserts_are_counted(plans):
    bulk_subscribers("pro", 250, statuses=SUBSCRIPTION_STATUSES)
    bulk_subscribers("team", 31, statuses=("active", "canceled"))
    assert_counts_exact()
    assert by_plan(kept_counts())[("pro", "paused")] == 50
    assert by_plan(kept_counts())[("team", "active")] == 16


def test_core_bulk_updates_and_deletes_are_counted(plans):
    bulk_subscribers("pro", 120, statuses=("active", "trialing", "canceled"))
    db.session.execute(
        sa.update(Subscription)
        .where(Subscription.status == "trialing")
        .values(status="active", **move_to_plan("team"))
    )
    db.session.commit()
    assert by_plan(kept_counts()) == {
        ("pro", "active"): 40,
        ("pro", "canceled"): 40,
        ("team", "active"): 40,
    }
    # Swap two statuses in one statement.
    db.session.execute(
        sa.update(Subscription)
        .where(Subscription.plan_id == "pro")
        .values(status=sa.case((Subscription.status == "active", "canceled"), else_="active"))
    )
    db.session.commit()
    assert_counts_exact()
    db.session.execute(sa.delete(Subscription).where(Subscription.plan_id == "team"))
    db.session.commit()
    assert_counts_exact()
    assert by_plan(kept_counts()) == {("pro", "active"): 40, ("pro", "canceled"): 40}


@pytest.mark.postgresql_only
def test_a_truncate_of_the_subscriptions_empties_the_counts(plans):
    """TRUNCATE fires no DELETE trigger; without migration 0019's statement trigger every plan
    kept its old counts (found trying to break issue 13)."""
    bulk_subscribers("pro", 30, statuses=("active", "paused"))
    db.session.commit()  # end the session's transaction: TRUNCATE waits for every reader
    with db.engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE billing_subscription")
    assert kept_counts() == {} == real_counts()
    bulk_subscribers("pro", 4)
    assert_counts_exact()
    assert by_plan(kept_counts()) == {("pro", "active"): 4}


def test_a_rolled_back_change_leaves_the_counts(plans):
    bulk_subscribers("pro", 10)
    add_subscription("pro", "paused")
    db.session.execute(sa.update(Subscription).values(status="canceled"))
    db.session.flush()
    db.session.rollback()
    assert kept_counts() == real_counts()
    assert by_plan(kept_counts()) == {("pro", "active"): 10}


def test_one_transaction_of_mixed_changes_is_counted(plans):
    bulk_subscribers("pro", 20, statuses=("active", "paused"))
    subscription = add_subscription("team", "trialing")
    subscription.status = "active"
    db.session.flush()
    db.session.execute(sa.delete(Subscription).where(Subscription.status == "paused"))
    bulk_subscribers("free", 3, statuses=("canceled",))  # commits everything
    assert_counts_exact()
    assert by_plan(kept_counts()) == {
        ("pro", "active"): 10,
        ("team", "active"): 1,
        ("free", "canceled"): 3,
    }


def test_counts_stay_exact_through_a_random_mix_of_changes(plans):
    rng = random.Random(5)
    plan_ids = ["pro", "team", "free"]
    for step in range(60):
        ids = list(db.session.scalars(sa.select(Subscription.id).order_by(Subscription.id)))
        action = rng.choice(
            [
                "orm_add",
                "bulk_add",
                "orm_change",
                "bulk_change",
                "delete",
                "price_change",
                "to_current_price",
            ]
        )
        if action == "orm_add" or not ids:
            add_subscription(rng.choice(plan_ids), rng.choice(SUBSCRIPTION_STATUSES))
        elif action == "bulk_add":
            bulk_subscribers(
                rng.choice(plan_ids),
                rng.randint(1, 8),
                statuses=rng.sample(SUBSCRIPTION_STATUSES, 3),
                email_prefix=f"step{step}",
            )
        elif action == "orm_change":
            subscription = db.session.get(Subscription, rng.choice(ids))
            subscription.status = rng.choice(SUBSCRIPTION_STATUSES)
            if rng.random() < 0.5:
                for name, value in move_to_plan(rng.choice(plan_ids)).items():
                    setattr(subscription, name, value)
        elif action == "bulk_change":
            chosen = rng.sample(ids, k=min(len(ids), rng.randint(1, 6)))
            db.session.execute(
                sa.update(Subscription)
                .where(Subscription.id.in_(chosen))
                .values(
                    status=rng.choice(SUBSCRIPTION_STATUSES), **move_to_plan(rng.choice(plan_ids))
                )
            )
        elif action == "price_change":  # later subscriptions pay the new price (issue 12)
            plan = db.session.get(Plan, rng.choice(plan_ids))
            plan.price += 1
        elif action == "to_current_price":  # some subscriptions of a plan move to its price
            plan_id = rng.choice(plan_ids)
            db.session.execute(
                sa.update(Subscription)
                .where(
                    Subscription.plan_id == plan_id,
                    Subscription.status == rng.choice(SUBSCRIPTION_STATUSES),
                )
                .values(price_id=current_price_id(plan_id))
            )
        else:
            chosen = rng.sample(ids, k=min(len(ids), rng.randint(1, 4)))
            db.session.execute(sa.delete(Subscription).where(Subscription.id.in_(chosen)))
        db.session.commit()
        assert kept_counts() == real_counts(), f"after step {step} ({action})"
    assert sum(real_counts().values()) > 0
    assert len({price for _, price, _ in real_counts()}) > 3  # several prices were counted


def test_subscription_counts_reads_the_kept_counts(plans):
    bulk_subscribers("pro", 7, statuses=("active", "canceled"))
    db.session.execute(sa.update(Subscription).values(**move_to_plan("team")))
    db.session.commit()
    # pro's rows are now zero: the plan has no subscriptions and is left out.
    assert subscription_counts() == {
        "team": {"active": 4, "trialing": 0, "past_due": 0, "paused": 0, "canceled": 3}
    }
    assert subscription_counts(["pro"]) == {}


# --- Demo data -------------------------------------------------------------------------------


def seed_demo(runner, *args):
    return runner.invoke(args=["seed-demo", *args])


@pytest.fixture
def seeded_plans(runner):
    result = runner.invoke(args=["seed-plans"])
    assert result.exit_code == 0, result.output
    return list(db.session.scalars(sa.select(Plan).order_by(Plan.price, Plan.id)))


def demo_rows():
    users = db.session.execute(sa.select(User.__table__).order_by(User.email)).all()
    subscriptions = db.session.execute(
        sa.select(Subscription.__table__).order_by(Subscription.id)
    ).all()
    db.session.rollback()
    return [tuple(u) for u in users], [tuple(s) for s in subscriptions]


def test_seed_demo_adds_users_and_subscriptions(runner, seeded_plans, set_clock):
    set_clock(NOW)
    result = seed_demo(runner, "--subscriptions", "200", "--random-seed", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout == "added 200 demo users and 200 subscriptions\n"
    users = list(db.session.scalars(sa.select(User)))
    assert len(users) == 200
    assert {u.email for u in users} == {f"demo{n}@example.com" for n in range(1, 201)}
    assert {u.role for u in users} == {"user"}
    assert all(u.password_hash is None for u in users)  # demo users cannot sign in
    assert all(u.name for u in users)
    subscriptions = list(db.session.scalars(sa.select(Subscription)))
    assert len(subscriptions) == 200
    assert sorted(s.user_id for s in subscriptions) == sorted(u.id for u in users)


def test_seed_demo_spreads_over_plans_and_every_status(runner, seeded_plans, set_clock):
    set_clock(NOW)
    assert seed_demo(runner, "--subscriptions", "200", "--random-seed", "3").exit_code == 0
    subscriptions = list(db.session.scalars(sa.select(Subscription)))
    statuses = Counter(s.status for s in subscriptions)
    assert set(statuses) == set(SUBSCRIPTION_STATUSES)
    assert statuses.most_common(1)[0][0] == "active"
    per_plan = Counter(s.plan_id for s in subscriptions)
    assert len(per_plan) >= len(seeded_plans) // 2
    cheapest = seeded_plans[0].id
    assert per_plan[cheapest] == max(per_plan.values())  # cheaper plans have more subscribers
    assert kept_counts() == real_counts()


def test_seed_demo_dates_are_consistent(runner, seeded_plans, set_clock):
    set_clock(NOW)
    assert seed_demo(runner, "--subscriptions", "200", "--random-seed", "3").exit_code == 0
    plans = {plan.id: plan for plan in seeded_plans}
    seen = Counter()
    for s in db.session.scalars(sa.select(Subscription)):
        period = PERIOD_SECONDS[plans[s.plan_id].interval]
        assert s.current_period_start < s.current_period_end, s
        assert s.created_at <= NOW, s
        assert s.created_at <= s.current_period_start or s.status == "canceled", s
        assert s.created_at <= s.current_period_end, s
        assert s.updated_at <= NOW, s
        if s.status == "trialing":
            assert s.trial_end is not None and s.trial_end > NOW, s
            assert s.current_period_end == s.trial_end == s.created_at + TRIAL_DAYS * DAY
        else:
            assert s.trial_end is None, s
        if s.status == "canceled":
            assert s.current_period_end <= NOW, s  # ended in the past
        if s.status == "past_due":
            assert s.current_period_end < NOW, s  # the renewal failed
            assert s.current_period_end - s.current_period_start == period
        if s.status in ("active", "paused"):
            assert s.current_period_start <= NOW < s.current_period_end, s
            assert s.current_period_end - s.current_period_start == period
        if s.cancel_at_period_end:
            assert s.status == "active", s
        seen[s.status] += 1
    assert sum(seen.values()) == 200


@pytest.fixture
def other_app(engine_name, tmp_path, request):
    """A second app over a second, fresh database of the same engine."""
    if engine_name == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'other.sqlite3'}", None
    else:
        admin = request.getfixturevalue("postgresql_admin_engine")
        schema = f"test_{uuid.uuid4().hex[:16]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    other = make_app(url)
    with other.app_context():
        db.create_all()
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    if schema:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


def test_the_same_seed_gives_the_same_rows_in_a_fresh_database(
    app, runner, seeded_plans, other_app, set_clock
):
    set_clock(NOW)
    assert seed_demo(runner, "--subscriptions", "200", "--random-seed", "3").exit_code == 0
    first = demo_rows()
    with other_app.app_context():
        other_runner = other_app.test_cli_runner()
        assert other_runner.invoke(args=["seed-plans"]).exit_code == 0
        result = other_runner.invoke(
            args=["seed-demo", "--subscriptions", "200", "--random-seed", "3"]
        )
        assert result.exit_code == 0, result.output
        second = demo_rows()
        assert (
            other_runner.invoke(
                args=["seed-demo", "--subscriptions", "200", "--random-seed", "4"]
            ).exit_code
            == 0
        )
        different_seed = demo_rows()
    assert len(first[0]) == len(first[1]) == 200
    assert first == second
    assert set(different_seed[1]) - set(second[1])  # another seed, other data


def test_running_twice_adds_more(runner, seeded_plans):
    assert seed_demo(runner, "--subscriptions", "200", "--random-seed", "3").exit_code == 0
    result = seed_demo(runner, "--subscriptions", "200", "--random-seed", "3")
    assert result.exit_code == 0, result.output
    emails = list(db.session.scalars(sa.select(User.email)))
    assert len(emails) == len(set(emails)) == 400
    assert set(emails) == {f"demo{n}@example.com" for n in range(1, 401)}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 400


def test_other_users_do_not_stop_demo_users_being_added(runner, seeded_plans):
    add_user("demo-owner@example.com")
    assert seed_demo(runner, "--subscriptions", "20").exit_code == 0
    result = seed_demo(runner, "--subscriptions", "20")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 40


def test_seed_demo_after_a_demo_user_was_deleted_adds_more(runner, seeded_plans):
    assert seed_demo(runner, "--subscriptions", "10").exit_code == 0
    gone = db.session.scalar(sa.select(User).where(User.email == "demo3@example.com"))
    db.session.execute(sa.delete(Subscription).where(Subscription.user_id == gone.id))
    db.session.execute(sa.delete(User).where(User.id == gone.id))
    db.session.commit()
    result = seed_demo(runner, "--subscriptions", "10")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 19


def test_if_empty_does_nothing_when_there_are_subscriptions(runner, seeded_plans):
    add_subscription(seeded_plans[0].id)
    db.session.commit()
    result = seed_demo(runner, "--subscriptions", "50", "--if-empty")
    assert result.exit_code == 0, result.output
    assert result.stdout == "there are subscriptions already: no demo data added (--if-empty)\n"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 1


def test_if_empty_seeds_an_empty_database(runner, seeded_plans):
    result = seed_demo(runner, "--subscriptions", "50", "--if-empty")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 50


def test_without_plans_it_is_a_one_line_error(runner):
    result = seed_demo(runner, "--subscriptions", "10")
    assert result.exit_code == 1
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert errors == ["Error: there are no plans: run `flask seed-plans` first"]
    assert "Traceback" not in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


@pytest.mark.parametrize("count", ["0", "-1", "abc", "1.5", "10000001"])
def test_a_bad_number_of_subscriptions_is_a_usage_error(runner, seeded_plans, count):
    result = seed_demo(runner, "--subscriptions", count)
    assert result.exit_code == 2
    assert "--subscriptions" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_the_number_of_subscriptions_is_required(runner, seeded_plans):
    assert seed_demo(runner).exit_code == 2


def test_demo_data_shows_in_the_subscriber_table(admin_client, runner, seeded_plans):
    assert seed_demo(runner, "--subscriptions", "60", "--random-seed", "3").exit_code == 0
    cheapest = seeded_plans[0].id
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(Subscription).where(Subscription.plan_id == cheapest)
    )
    body = admin_client.get(f"/api/v1/admin/billing/plans/{cheapest}/subscribers").get_json()
    assert body["total"] == total > 0
    assert all(item["email"].endswith("@example.com") for item in body["items"])
