"""Schemathesis stateful runs over the API's OpenAPI document: sequences of calls that follow
the document's links, each answer checked against the document (status, headers, body) and
never a 5xx. Bounded (examples and steps) so they stay tests, not soaks; repeatable (Hypothesis
derandomized in conftest). Run on each engine of the ``app`` fixture.

- Plans: create → get / update / toggle / duplicate / delete, duplicate → the same on the copy.
- Subscriptions: the plan list → a plan's subscribers → a user's subscription (GET, and the
  original's PUT) → each subscription action with the subscription's ETag as If-Match → the
  actions again on what the last one answered.

Each run sees only its own operations, so the other's roots do not take its steps.
"""

import collections

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import providers
from schemathesis.generation.stateful.state_machine import normalize_name

from billing_admin.extensions import db
from billing_admin.models import IdempotencyKey, Plan, Subscription, User
from billing_admin.plans.seeding import seed_plans
from tests.helpers import ADMIN_EMAIL, add_subscription, bearer, make_token
from tests.test_api_fuzz import OPENAPI_PATH, schemathesis_config

LINKED = {"createPlan", "updatePlan", "togglePlan", "duplicatePlan", "deletePlan"}
PLAN_OPERATIONS = (
    "^(createPlan|getPlan|updatePlan|deletePlan|togglePlan|duplicatePlan|getPlanSubscribers)$"
)
SUBSCRIPTION_OPERATIONS = (
    "^(listPlans|getPlanSubscribers|getSubscription|getUserSubscription|changeUserPlan|"
    "changeSubscriptionPlan|cancelSubscription|scheduleSubscriptionCancel|"
    "resumeSubscriptionRenewal|pauseSubscription|resumeSubscription|extendSubscription)$"
)
ACTION_OPERATIONS = {
    "changeSubscriptionPlan",
    "cancelSubscription",
    "scheduleSubscriptionCancel",
    "resumeSubscriptionRenewal",
    "pauseSubscription",
    "resumeSubscription",
    "extendSubscription",
}
# Each seeded plan's newest subscriber (what the plan list's link reaches) in another state.
STATES = (
    ("active", {}),
    ("paused", {}),
    ("trialing", {"trial_end": 1_702_592_000}),
    ("active", {"cancel_at_period_end": True}),
    ("past_due", {}),
)


@pytest.fixture(autouse=True)
def draws_independent_of_the_projects_source(monkeypatch):
    """Hypothesis also draws string and number constants it finds in the project's own modules
    (and in whichever of them earlier tests imported), so any new literal anywhere in
    billing_admin/ changed what these derandomized runs drew, and whether a bounded run reached
    every link. Without those constants a run depends only on its seed and the app's answers."""
    monkeypatch.setattr(providers, "_get_local_constants", providers.Constants)
    providers.CONSTANTS_CACHE.cache.clear()
    yield
    providers.CONSTANTS_CACHE.cache.clear()


def stateful_run(
    runner,
    app_factory,
    operations: str,
    reset,
    examples: int = 25,
    steps: int = 6,
    roots: set[str] | None = None,
) -> collections.Counter:
    """(operationId, status) → calls, of a bounded run over ``operations`` (a regex of
    operationIds), each scenario starting from ``reset()``. ``roots``: the only operations a
    sequence may start with (by default every one Schemathesis picks: POSTs, and GETs without
    path parameters)."""
    db.session.commit()
    token = make_token(runner, "stateful", scope="write")
    settings_ = schemathesis_config(token)
    if roots is not None:  # the document's links only: none guessed from field names
        settings_["phases"] = {"stateful": {"inference": {"algorithms": []}}}
    config = schemathesis.Config.from_dict(settings_)
    schema = schemathesis.openapi.from_wsgi(
        OPENAPI_PATH, app_factory(), config=config, headers=bearer(token)
    ).include(operation_id_regex=operations)
    seen: collections.Counter = collections.Counter()
    workflow = schema.as_state_machine()
    if roots is not None:
        # Schemathesis starts a sequence with any POST; a subscription action with a made-up id
        # is only ever a 404, and would take most of the run's steps. Hide those starts.
        labels = {
            operation.label
            for operation in (result.ok() for result in schema.get_all_operations())
            if operation.definition.raw["operationId"] in roots
        }
        kept = {normalize_name(f"RANDOM -> {label}") for label in labels} & workflow.root_rules
        hidden = {name: None for name in workflow.root_rules - kept}
        workflow = type(
            "Workflow",
            (workflow,),
            {**hidden, "root_rules": frozenset(kept), "_root_labels": frozenset(labels)},
        )

    class Machine(workflow):
        def setup(self):
            """Each scenario starts from the same rows and no Idempotency-Keys, so a sequence
            Hypothesis replays meets the same answers (audit entries, append-only, stay)."""
            db.session.rollback()
            db.session.execute(sa.delete(IdempotencyKey))
            reset()

        def after_call(self, response, case):
            seen[(case.operation.definition.raw["operationId"], response.status_code)] += 1

    Machine.run(
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    return seen


def test_a_stateful_run_finds_no_5xx_and_no_answer_outside_the_document(
    app, admin, runner, app_factory
):
    def reset():
        db.session.execute(sa.delete(Plan))
        db.session.commit()
        seed_plans()

    seen = stateful_run(runner, app_factory, PLAN_OPERATIONS, reset, 40, 6)
    assert not any(status >= 500 for _, status in seen), seen
    # Every linked operation was reached, so the run walked the links; each one's success is
    # pinned in test_api_writes.py. Which ones also succeed here depends on the bodies Hypothesis
    # draws (an update mostly meets a stale If-Match or a body the plan rules refuse).
    reached = {operation for operation, _ in seen}
    assert reached >= LINKED, seen
    succeeded = {operation for operation, status in seen if 200 <= status < 300}
    assert succeeded >= {"createPlan", "deletePlan"}, seen


def test_a_stateful_run_over_subscription_actions_finds_no_5xx_and_no_answer_outside_the_document(
    app, admin, runner, app_factory
):
    def reset():
        db.session.execute(sa.delete(Subscription))
        db.session.execute(sa.delete(User).where(User.email != ADMIN_EMAIL))
        db.session.execute(sa.delete(Plan))
        db.session.commit()
        seed_plans()
        plan_ids = db.session.scalars(sa.select(Plan.id).order_by(Plan.display_order, Plan.id))
        for index, plan_id in enumerate(plan_ids):
            status, fields = STATES[index % len(STATES)]
            add_subscription(plan_id, status, **fields)
        db.session.commit()

    seen = stateful_run(
        runner, app_factory, SUBSCRIPTION_OPERATIONS, reset, 40, 8, roots={"listPlans"}
    )
    assert not any(status >= 500 for _, status in seen), seen
    reached = {operation for operation, _ in seen}
    # The links were walked from the plan list to a user's subscription and on to the actions;
    # each action's success and refusals are pinned in test_api_subscription_writes.py.
    assert {"getPlanSubscribers", "getUserSubscription", "changeUserPlan"} <= reached, seen
    assert len(ACTION_OPERATIONS & reached) >= 4, seen
    succeeded = {operation for operation, status in seen if 200 <= status < 300}
    assert ACTION_OPERATIONS & succeeded, seen
