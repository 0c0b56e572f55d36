"""Hypothesis: random sequences of what happens to plans and subscriptions (price, currency and
period edits through the service, other edits, a raw writer changing the price, subscriptions
starting and changing status, moves to the current price) keep issue 12's invariants after
every step:

- each plan has exactly one open price, and it equals the plan's price, currency and period;
- its prices are exactly the ones a model of the steps expects, in order, each closing where the
  next opens;
- every subscription pays one of its own plan's prices, the one the model says;
- the trigger-kept counts by (plan, price, status) equal the rows;
- the plan's MRR equals Σ over its active subscriptions of the monthly value of the price each
  pays, per currency, rounded once to the cent (worked out here, not by the app).
"""

import itertools
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_admin.audit.service import Actor
from billing_admin.extensions import db
from billing_admin.models import Plan, PlanSubscriptionCount, Price, Subscription
from billing_admin.plans import price_moves
from billing_admin.plans.service import plan_summary
from tests.helpers import add_plan, add_subscription, change_plan

PER_MONTH = {"day": Decimal(30), "week": Decimal("4.33"), "month": Decimal(1)}
AMOUNTS = ["0.00", "0.50", "490.00", "590.00", "1000.50", "99.99"]
CURRENCIES = ["RUB", "USD", "EUR"]
INTERVALS = ["day", "week", "month", "year"]
STATUSES = ["active", "trialing", "past_due", "paused", "canceled"]

PLAN = st.integers(0, 1)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("price"), PLAN, st.sampled_from(AMOUNTS)),
        st.tuples(st.just("currency"), PLAN, st.sampled_from(CURRENCIES)),
        st.tuples(st.just("interval"), PLAN, st.sampled_from(INTERVALS)),
        st.tuples(st.just("name"), PLAN, st.sampled_from(["A", "B", "C"])),
        st.tuples(st.just("is_active"), PLAN, st.booleans()),
        st.tuples(st.just("raw_price"), PLAN, st.sampled_from(AMOUNTS)),
        st.tuples(st.just("subscribe"), PLAN, st.sampled_from(STATUSES)),
        st.tuples(st.just("status"), st.integers(0, 50), st.sampled_from(STATUSES)),
        st.tuples(st.just("move"), PLAN, st.just(None)),
    ),
    max_size=14,
)


def monthly(amount: Decimal, interval: str) -> Decimal:
    """By hand: a year's price ÷ 12, the others × their factor."""
    if interval == "year":
        return amount / 12
    return amount * PER_MONTH[interval]


class Model:
    """What the database should hold for the plans of one example."""

    def __init__(self, plan_ids: list[str]):
        self.plan_ids = plan_ids
        # Each plan's prices so far, oldest first: (amount, currency, interval).
        self.prices = {plan_id: [(Decimal("490.00"), "RUB", "month")] for plan_id in plan_ids}
        # Subscription id → (plan, index of the price it pays in self.prices[plan], status).
        self.subscriptions: dict[str, list] = {}

    def current(self, plan_id: str) -> tuple:
        return self.prices[plan_id][-1]

    def set_price(self, plan_id: str, **change) -> None:
        amount, currency, interval = self.current(plan_id)
        new = (
            Decimal(change.get("price", amount)),
            change.get("currency", currency),
            change.get("interval", interval),
        )
        if new != self.current(plan_id):
            self.prices[plan_id].append(new)

    def mrr(self, plan_id: str) -> dict[str, Decimal]:
        exact: dict[str, Decimal] = defaultdict(Decimal)
        for plan, index, status in self.subscriptions.values():
            if plan == plan_id and status == "active":
                amount, currency, interval = self.prices[plan][index]
                exact[currency] += monthly(amount, interval)
        own = self.current(plan_id)[1]
        result = {own: Decimal("0.00")}
        result.update({c: v.quantize(Decimal("0.01"), ROUND_HALF_UP) for c, v in exact.items()})
        return result


def apply(step, model: Model) -> None:
    kind, which, value = step
    plan_id = model.plan_ids[which % len(model.plan_ids)]
    if kind in ("price", "currency", "interval"):
        change_plan(plan_id, **{kind: Decimal(value) if kind == "price" else value})
        model.set_price(plan_id, **{kind: value})
    elif kind in ("name", "is_active"):
        change_plan(plan_id, **{kind: value})
    elif kind == "raw_price":  # another writer: the price and updated_at, nothing else
        table = Plan.__table__
        db.session.execute(
            sa.update(table)
            .where(table.c.id == plan_id)
            .values(price=Decimal(value), updated_at=table.c.updated_at + 1)
        )
        db.session.commit()
        model.set_price(plan_id, price=value)
    elif kind == "subscribe":
        subscription = add_subscription(plan_id, value)
        db.session.commit()
        model.subscriptions[subscription.id] = [plan_id, len(model.prices[plan_id]) - 1, value]
    elif kind == "status" and model.subscriptions:
        subscription_id = sorted(model.subscriptions)[which % len(model.subscriptions)]
        db.session.execute(
            sa.update(Subscription).where(Subscription.id == subscription_id).values(status=value)
        )
        db.session.commit()
        model.subscriptions[subscription_id][2] = value
    elif kind == "move":
        preview = price_moves.preview_move(plan_id)
        if preview.total:
            started = price_moves.start_move(
                plan_id, from_price_id=None, fingerprint=preview.fingerprint, actor=Actor("t")
            )
            price_moves.run_move(started.id, batch_size=2)
            last = len(model.prices[plan_id]) - 1
            for entry in model.subscriptions.values():
                if entry[0] == plan_id and entry[2] != "canceled":
                    entry[1] = last


def check_invariants(model: Model, after: str) -> None:
    db.session.rollback()
    price_ids: dict[str, list[int]] = {}
    for plan_id in model.plan_ids:
        plan = db.session.get(Plan, plan_id)
        prices = list(
            db.session.scalars(sa.select(Price).where(Price.plan_id == plan_id).order_by(Price.id))
        )
        price_ids[plan_id] = [p.id for p in prices]
        assert [(p.amount, p.currency, p.interval) for p in prices] == model.prices[plan_id], after
        assert [p.active_until is None for p in prices] == [False] * (len(prices) - 1) + [True]
        assert (plan.price, plan.currency, plan.interval) == model.current(plan_id), after
        for earlier, later in itertools.pairwise(prices):
            assert earlier.active_from <= earlier.active_until == later.active_from, after
        assert dict(plan_summary(plan_id).mrr) == model.mrr(plan_id), after
    rows = db.session.execute(
        sa.select(
            Subscription.id, Subscription.plan_id, Subscription.price_id, Subscription.status
        ).where(Subscription.plan_id.in_(model.plan_ids))
    ).all()
    assert {
        subscription_id: [plan_id, price_ids[plan_id].index(price_id), status]
        for subscription_id, plan_id, price_id, status in rows
    } == model.subscriptions, after
    kept = db.session.execute(
        sa.select(
            PlanSubscriptionCount.plan_id,
            PlanSubscriptionCount.price_id,
            PlanSubscriptionCount.status,
            PlanSubscriptionCount.count,
        ).where(PlanSubscriptionCount.plan_id.in_(model.plan_ids), PlanSubscriptionCount.count != 0)
    ).all()
    real = Counter((plan_id, price_id, status) for _, plan_id, price_id, status in rows)
    assert {(p, q, s): n for p, q, s, n in kept} == dict(real), after
    db.session.rollback()


def test_random_sequences_of_plan_edits_keep_the_price_invariants(app):
    examples = []

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(steps=STEPS)
    def check(steps):
        examples.append(1)
        plan_ids = [f"e{len(examples)}_a", f"e{len(examples)}_b"]
        for plan_id in plan_ids:
            add_plan(plan_id, price=Decimal("490.00"))
        model = Model(plan_ids)
        check_invariants(model, "the start")
        for number, step in enumerate(steps):
            apply(step, model)
            check_invariants(model, f"step {number}: {step}")

    check()
