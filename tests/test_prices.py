"""A plan's price history (issue 12), kept by the database: the first price, a new price on each
change of amount, currency or period and on nothing else, prices never edited, one open price a
plan, each subscription paying one of its own plan's prices, new subscriptions paying the
current one, and the price history with its counts and shares.

Times are pinned (``set_clock``) so every since/until is known; figures are worked out by hand in
the comments.
"""

import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor
from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan, Price, Subscription, User
from billing_admin.models.price import IMMUTABLE
from billing_admin.plans import service
from tests.dashboard_data import bulk_subscriptions
from tests.helpers import (
    add_plan,
    add_subscription,
    add_subscriptions,
    change_plan,
    current_price_id,
    prices_of,
)

T0 = 1_800_000_000
T1 = T0 + 86_400
T2 = T0 + 2 * 86_400
T3 = T0 + 3 * 86_400


def price_rows(plan_id: str) -> list[tuple]:
    """(amount, currency, interval, active_from, active_until) of each price, oldest first."""
    db.session.rollback()
    return [
        (p.amount, p.currency, p.interval, p.active_from, p.active_until)
        for p in prices_of(plan_id)
    ]


def plan_matches_its_open_price(plan_id: str) -> bool:
    db.session.rollback()
    plan = db.session.get(Plan, plan_id)
    (open_price,) = [p for p in prices_of(plan_id) if p.active_until is None]
    return (plan.price, plan.currency, plan.interval) == (
        open_price.amount,
        open_price.currency,
        open_price.interval,
    )


# --- The database keeps the history ----------------------------------------------------------


def test_a_new_plan_opens_its_first_price_from_its_own_columns(app, set_clock):
    set_clock(T0)
    add_plan("pro", price=Decimal("1490.00"), currency="EUR", interval="week")
    (price,) = prices_of("pro")
    assert (
        price.amount,
        price.currency,
        price.interval,
        price.active_from,
        price.active_until,
        price.created_at,
    ) == (Decimal("1490.00"), "EUR", "week", T0, None, T0)
    assert price.is_current


@pytest.mark.parametrize(
    ("field", "value", "new_price"),
    [
        ("price", Decimal("1590.00"), (Decimal("1590.00"), "RUB", "month")),
        ("currency", "USD", (Decimal("1490.00"), "USD", "month")),
        ("interval", "year", (Decimal("1490.00"), "RUB", "year")),
    ],
)
def test_a_change_of_amount_currency_or_period_closes_the_price_and_opens_the_next(
    app, set_clock, field, value, new_price
):
    set_clock(T0)
    add_plan("pro")
    set_clock(T1)
    change_plan("pro", **{field: value})
    assert price_rows("pro") == [
        (Decimal("1490.00"), "RUB", "month", T0, T1),  # closed at the moment of the change
        (*new_price, T1, None),  # and the next opens at that same moment
    ]
    assert plan_matches_its_open_price("pro")


def test_each_change_opens_one_more_price_even_back_to_an_old_amount(app, set_clock):
    set_clock(T0)
    add_plan("pro")
    for moment, amount in ((T1, "1590.00"), (T2, "1490.00"), (T3, "1690.00")):
        set_clock(moment)
        change_plan("pro", price=Decimal(amount))
    assert price_rows("pro") == [
        (Decimal("1490.00"), "RUB", "month", T0, T1),
        (Decimal("1590.00"), "RUB", "month", T1, T2),
        (Decimal("1490.00"), "RUB", "month", T2, T3),  # a new row: history is not rewritten
        (Decimal("1690.00"), "RUB", "month", T3, None),
    ]


def test_amount_currency_and_period_changed_together_open_one_price(app, set_clock):
    set_clock(T0)
    add_plan("pro")
    set_clock(T1)
    change_plan("pro", price=Decimal("99.00"), currency="USD", interval="year")
    assert price_rows("pro") == [
        (Decimal("1490.00"), "RUB", "month", T0, T1),
        (Decimal("99.00"), "USD", "year", T1, None),
    ]


NOT_PRICE_FIELDS = [
    ("name", "Pro+"),
    ("name_ru", "Про"),
    ("description", "Changed"),
    ("description_ru", "Изменено"),
    ("quotas", {"tokens_input": 9_000_000, "tokens_output": 2_000_000, "requests": 20_000}),
    ("features", ("Only this",)),
    ("is_active", False),
    ("display_order", 7),
    ("plan_extra_metadata", {"promo": True}),
]


@pytest.mark.parametrize(("field", "value"), NOT_PRICE_FIELDS)
def test_changing_anything_but_the_price_opens_no_new_price(app, set_clock, field, value):
    set_clock(T0)
    add_plan("pro")
    add_subscriptions("pro", "active")
    before = price_rows("pro")
    set_clock(T1)
    changes = change_plan("pro", **{field: value})
    assert list(changes) == [field]  # the change was saved
    assert price_rows("pro") == before
    (entry,) = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "plan_updated"))
    assert "price_id" not in (entry.audit_metadata or {})


def test_a_raw_update_of_other_columns_opens_no_price(app, set_clock):
    set_clock(T0)
    add_plan("pro")
    db.session.execute(
        sa.update(Plan.__table__).values(name="Raw", quotas=None, updated_at=T1, version=2)
    )
    # Writing the same price again is not a change either.
    db.session.execute(sa.update(Plan.__table__).values(price=Decimal("1490.00"), currency="RUB"))
    db.session.commit()
    assert price_rows("pro") == [(Decimal("1490.00"), "RUB", "month", T0, None)]


def test_activating_deactivating_and_duplicating_open_no_price_on_the_plan(app, set_clock):
    set_clock(T0)
    add_plan("pro")
    set_clock(T1)
    service.set_plan_active("pro", False, Actor("t"))
    service.set_plan_active("pro", True, Actor("t"))
    copy = service.duplicate_plan("pro", Actor("t"))
    assert price_rows("pro") == [(Decimal("1490.00"), "RUB", "month", T0, None)]
    # The copy is a new plan: its own first price, from its creation.
    assert price_rows(copy.id) == [(Decimal("1490.00"), "RUB", "month", T1, None)]


def test_a_writer_that_changes_only_the_price_gets_the_databases_clock(app, set_clock):
    """Another writer (the platform, psql) that sets the price and not updated_at: the price
    changes at the database's "now" (models/price.py as of 09c4621: "the DB clock when
    updated_at did not change"), not at the plan's last update, years ago, which would date the
    new price back to before subscriptions that paid the old one."""
    set_clock(T0 - 10 * 365 * 86_400)  # the plan's row is years old
    add_plan("pro")
    before = int(time.time())
    db.session.execute(sa.text("UPDATE billing_plan SET price = 1590.00"))
    db.session.commit()
    after = int(time.time())
    (old, new) = prices_of("pro")
    assert new.amount == Decimal("1590.00")
    # + 1: PostgreSQL rounds its clock to the second where the app's truncates.
    assert before <= old.active_until == new.active_from <= after + 1


def test_a_writer_that_moves_updated_at_backwards_gets_the_databases_clock(app, set_clock):
    set_clock(1_700_000_000)  # 2023: before the real now
    add_plan("pro")
    before = int(time.time())
    db.session.execute(sa.text("UPDATE billing_plan SET price = 1590.00, updated_at = 5"))
    db.session.commit()
    after = int(time.time())
    (old, new) = prices_of("pro")
    assert before <= old.active_until == new.active_from <= after + 1  # (as above)


def test_a_price_change_is_audited_with_the_old_and_new_price_ids(app, set_clock):
    set_clock(T0)
    add_plan("pro")
    first = current_price_id("pro")
    set_clock(T1)
    change_plan("pro", price=Decimal("1590.00"), name="Pro+")
    second = current_price_id("pro")
    (entry,) = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "plan_updated"))
    assert first != second
    assert entry.audit_metadata == {"version": 2, "price_id": {"old": first, "new": second}}
    assert entry.changes["price"] == {"old": "1490.00", "new": "1590.00"}


def test_a_price_change_refused_for_its_quotas_opens_no_price(app, set_clock):
    from billing_admin.plans.rules import PlanRuleError

    set_clock(T0)
    add_plan("pro")
    add_subscriptions("pro", "active")
    with pytest.raises(PlanRuleError):
        change_plan(
            "pro",
            price=Decimal("1590.00"),
            quotas={"tokens_input": 1, "tokens_output": 2_000_000, "requests": 20_000},
        )
    assert price_rows("pro") == [(Decimal("1490.00"), "RUB", "month", T0, None)]


def test_an_unconfirmed_price_change_opens_no_price(app, set_clock):
    set_clock(T0)
    add_plan("pro")
    add_subscriptions("pro", "active")
    plan = db.session.get(Plan, "pro")
    from dataclasses import replace

    spec = replace(service.spec_of(plan), price=Decimal("1590.00"))
    with pytest.raises(service.PriceChangeNeedsConfirmation):
        service.update_plan("pro", spec, expected_version=1, actor=Actor("t"))
    db.session.rollback()
    assert price_rows("pro") == [(Decimal("1490.00"), "RUB", "month", T0, None)]


def test_a_plan_with_only_trialing_subscriptions_changes_price_without_confirmation(app):
    add_plan("pro")
    add_subscriptions("pro", "trialing", 2)
    plan = db.session.get(Plan, "pro")
    from dataclasses import replace

    spec = replace(service.spec_of(plan), price=Decimal("1590.00"))
    service.update_plan("pro", spec, expected_version=1, actor=Actor("t"))  # no confirmation
    assert len(prices_of("pro")) == 2


def test_deleting_a_plan_deletes_its_prices(app):
    add_plan("pro")
    change_plan("pro", price=Decimal("1590.00"))
    service.delete_plan("pro", Actor("t"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Price)) == 0


# --- Prices are never edited -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("amount", Decimal("1.00")),
        ("currency", "USD"),
        ("interval", "year"),
        ("plan_id", "other"),
        ("active_from", 1),
    ],
)
def test_the_database_refuses_editing_a_price(app, column, value):
    add_plan("pro")
    add_plan("other")
    before = price_rows("pro")
    with pytest.raises(sa.exc.IntegrityError, match=IMMUTABLE):
        db.session.execute(
            sa.update(Price.__table__).where(Price.plan_id == "pro").values({column: value})
        )
    db.session.rollback()
    assert price_rows("pro") == before


@pytest.mark.parametrize("until", [T3, None], ids=["re-closed", "reopened"])
def test_the_database_refuses_changing_when_a_closed_price_ended(app, set_clock, until):
    set_clock(T0)
    add_plan("pro")
    set_clock(T1)
    change_plan("pro", price=Decimal("1590.00"))
    before = price_rows("pro")
    closed = prices_of("pro")[0].id
    with pytest.raises(sa.exc.IntegrityError, match=IMMUTABLE):
        db.session.execute(
            sa.update(Price.__table__).where(Price.id == closed).values(active_until=until)
        )
    db.session.rollback()
    assert price_rows("pro") == before


def test_an_update_that_changes_no_value_of_a_price_is_allowed(app):
    add_plan("pro")
    db.session.execute(
        sa.update(Price.__table__).values(amount=Price.amount, active_from=Price.active_from)
    )
    db.session.commit()
    assert len(prices_of("pro")) == 1


def test_a_plan_has_one_open_price_at_most(app, set_clock):
    set_clock(T0)
    add_plan("pro")
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.insert(Price.__table__).values(
                plan_id="pro",
                amount=Decimal("1.00"),
                currency="RUB",
                interval="month",
                active_from=T1,
                created_at=T1,
            )
        )
    db.session.rollback()
    assert len(prices_of("pro")) == 1


# --- The price a subscription pays -----------------------------------------------------------


def test_a_new_subscription_pays_the_current_price_and_keeps_it_after_a_change(app, set_clock):
    set_clock(T0)
    add_plan("pro")
    first = current_price_id("pro")
    old = add_subscription("pro", "active")
    db.session.commit()
    set_clock(T1)
    change_plan("pro", price=Decimal("1590.00"))
    second = current_price_id("pro")
    new = add_subscription("pro", "active")
    db.session.commit()
    assert (db.session.get(Subscription, old.id).price_id, new.price_id) == (first, second)
    assert first != second


def test_core_bulk_inserts_without_a_price_pay_each_plans_current_price(app):
    add_plan("pro")
    add_plan("team")
    change_plan("team", price=Decimal("990.00"))
    bulk_subscriptions([("pro", "active", T0, None), ("team", "active", T0, None)] * 3)
    paid = db.session.execute(sa.select(Subscription.plan_id, Subscription.price_id)).all()
    assert sorted(set(paid)) == [
        ("pro", current_price_id("pro")),
        ("team", current_price_id("team")),
    ]
    assert len(paid) == 6


def test_a_subscription_paying_another_plans_price_is_refused(app):
    add_plan("pro")
    add_plan("team")
    user = User(email="u@example.com", name="U")
    db.session.add(user)
    db.session.flush()
    db.session.add(
        Subscription(
            user_id=user.id,
            plan_id="pro",
            price_id=current_price_id("team"),
            status="active",
            current_period_start=T0,
            current_period_end=T1,
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 0


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(lambda: {"price_id": current_price_id("team")}, id="price of another plan"),
        pytest.param(lambda: {"plan_id": "team"}, id="plan changed, price kept"),
        pytest.param(lambda: {"price_id": None}, id="no price"),
    ],
)
def test_an_update_to_a_price_the_plan_does_not_have_is_refused(app, values):
    add_plan("pro")
    add_plan("team")
    subscription = add_subscription("pro", "active")
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.update(Subscription.__table__)
            .where(Subscription.id == subscription.id)
            .values(values())
        )
    db.session.rollback()
    stored = db.session.get(Subscription, subscription.id)
    assert (stored.plan_id, stored.price_id) == ("pro", current_price_id("pro"))


def test_seed_demo_subscriptions_pay_the_current_price(app, runner):
    assert runner.invoke(args=["seed-plans"]).exit_code == 0
    change_plan("starter", price=Decimal("590.00"))
    result = runner.invoke(args=["seed-demo", "--subscriptions", "60", "--random-seed", "1"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    rows = db.session.execute(
        sa.select(
            Subscription.price_id, Price.active_until, Price.plan_id, Subscription.plan_id
        ).join(Price, Price.id == Subscription.price_id)
    ).all()
    assert len(rows) == 60
    assert all(until is None and price_plan == plan for _, until, price_plan, plan in rows)
    assert "starter" in {plan for *_, plan in rows}


# --- The price history -----------------------------------------------------------------------


@pytest.fixture
def starter_history(app, set_clock):
    """Starter: RUB 490.00 a month from T0 (3 active, 1 trialing, 1 canceled), RUB 590.00 from
    T1 (2 active, 1 paused), USD 10.00 a month from T2 (1 active, 1 past due)."""
    set_clock(T0)
    add_plan("starter", name="Starter", price=Decimal("490.00"))
    for status, count in (("active", 3), ("trialing", 1), ("canceled", 1)):
        add_subscriptions("starter", status, count)
    set_clock(T1)
    change_plan("starter", price=Decimal("590.00"))
    for status, count in (("active", 2), ("paused", 1)):
        add_subscriptions("starter", status, count)
    set_clock(T2)
    change_plan("starter", price=Decimal("10.00"), currency="USD")
    for status in ("active", "past_due"):
        add_subscriptions("starter", status)
    return [p.id for p in prices_of("starter")]


def counts(**nonzero) -> dict[str, int]:
    return {"active": 0, "trialing": 0, "past_due": 0, "paused": 0, "canceled": 0, **nonzero}


def test_the_price_history_lists_the_current_price_first_then_newest_to_oldest(starter_history):
    first, second, third = starter_history
    history = service.price_history("starter")
    assert [entry.price.id for entry in history] == [third, second, first]
    assert [(e.price.active_from, e.price.active_until) for e in history] == [
        (T2, None),
        (T1, T2),
        (T0, T1),
    ]


def test_the_price_history_counts_each_prices_subscriptions_by_status(starter_history):
    assert [entry.counts for entry in service.price_history("starter")] == [
        counts(active=1, past_due=1),
        counts(active=2, paused=1),
        counts(active=3, trialing=1, canceled=1),
    ]
    assert [entry.subscriptions for entry in service.price_history("starter")] == [2, 3, 5]


def test_each_prices_mrr_and_its_share_of_the_plans_mrr_in_its_currency(starter_history):
    history = service.price_history("starter")
    assert [entry.mrr for entry in history] == [
        Decimal("10.00"),  # 1 active × USD 10.00
        Decimal("1180.00"),  # 2 × 590.00
        Decimal("1470.00"),  # 3 × 490.00 (the trialing one pays nothing yet)
    ]
    assert [entry.mrr_share for entry in history] == [
        Decimal(1),  # the only USD price
        Decimal("1180") / Decimal("2650"),  # of RUB 2,650.00 = 1,180 + 1,470
        Decimal("1470") / Decimal("2650"),
    ]


def test_a_price_nobody_pays_has_no_share(app, set_clock):
    set_clock(T0)
    add_plan("pro")
    add_subscriptions("pro", "trialing")
    set_clock(T1)
    change_plan("pro", price=Decimal("1590.00"))
    history = service.price_history("pro")
    assert [(e.mrr, e.mrr_share) for e in history] == [
        (Decimal("0.00"), None),
        (Decimal("0.00"), None),
    ]


def test_the_plans_mrr_has_its_own_currency_first_then_the_older_ones(starter_history):
    summary = service.plan_summary("starter")
    assert list(summary.mrr.items()) == [("USD", Decimal("10.00")), ("RUB", Decimal("2650.00"))]
    assert summary.counts == counts(active=6, trialing=1, past_due=1, paused=1, canceled=1)


def test_price_histories_of_several_plans_keep_each_plans_own(starter_history):
    add_plan("pro")
    histories = service.price_histories(["starter", "pro"])
    assert [e.price.id for e in histories["starter"]] == starter_history[::-1]
    assert [(e.price.plan_id, e.mrr, e.mrr_share) for e in histories["pro"]] == [
        ("pro", Decimal("0.00"), None)
    ]


# --- A failure after the price changed leaves no price behind ---------------------------------


def test_a_price_change_that_fails_before_commit_opens_no_price(app, monkeypatch, set_clock):
    set_clock(T0)
    add_plan("pro")
    add_subscriptions("pro", "active")
    real = service.record_plan_change

    def record_then_fail(*args, **kwargs):
        real(*args, **kwargs)  # the plan row is updated and the trigger has run by now
        db.session.flush()
        assert len(db.session.scalars(sa.select(Price)).all()) == 2
        raise RuntimeError("injected")

    monkeypatch.setattr(service, "record_plan_change", record_then_fail)
    with pytest.raises(RuntimeError):
        change_plan("pro", price=Decimal("1590.00"))
    db.session.rollback()
    assert price_rows("pro") == [(Decimal("1490.00"), "RUB", "month", T0, None)]
    assert db.session.get(Plan, "pro").price == Decimal("1490.00")


def test_seed_plans_failing_after_a_price_change_opens_no_price(app, runner, monkeypatch):
    from billing_admin.plans import seeding

    assert runner.invoke(args=["seed-plans"]).exit_code == 0
    change_plan("starter", price=Decimal("590.00"))
    change_plan("pro", price=Decimal("1590.00"))
    before = {plan_id: price_rows(plan_id) for plan_id in ("starter", "pro")}
    real = seeding.record_plan_change
    calls = []

    def fail_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("injected")
        return real(*args, **kwargs)

    monkeypatch.setattr(seeding, "record_plan_change", fail_on_the_second)
    db.session.commit()
    result = runner.invoke(args=["seed-plans", "--force"])
    assert result.exit_code == 1
    assert {plan_id: price_rows(plan_id) for plan_id in ("starter", "pro")} == before
