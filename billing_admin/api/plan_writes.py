"""The original's plan writes under /api/v1/admin/billing (issue 14). Thin, like the pages:
parse the body (api/bodies.py), call the same plans/service.py function the pages call (the
same rules, audit entry and counts; the actor is the token's admin and name, or the signed-in
admin), and answer.

Answers: the plan (as ``GET /plans/<id>``, with its ETag), or ``{"success": true, "message":
"Plan '<id>' deleted"}``. Refusals: 400 ``{"detail": "..."}`` with the original's messages (an
id taken, a quota lowered under active subscriptions, a plan still in use), 404 for an unknown
plan, 412 with the current plan when If-Match is stale, 422 for the body (FastAPI's shape).

A price change is applied as the original applies it, without the page's confirmation step: a
script states the exact new price, and (issue 12) subscriptions keep the price they pay, so it
changes only what new subscriptions pay. The audit entry records the old and new price ids.
"""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify

from billing_admin.api.bodies import BodyErrors, create_spec, rule_errors, update_spec
from billing_admin.api.http import PreconditionFailed, check_if_match, etag_of, json_body
from billing_admin.api.idempotency import idempotent
from billing_admin.api.representations import plan_answer
from billing_admin.plans import service as plans
from billing_admin.plans.errors import PlanNotFound
from billing_admin.plans.rules import PlanRuleError
from billing_admin.plans.validation import PlanValidationError

bp = Blueprint("api_plans", __name__, url_prefix="/api/v1/admin/billing/plans")
# A write without If-Match that meets someone else's concurrent save is tried again on the new
# version (last writer wins, as in the original), this many times in all.
ATTEMPTS = 3


def _detail(message: str, status: int) -> Response:
    response = jsonify(detail=message)
    response.status_code = status
    return response


def _refusal(exc: Exception) -> Response:
    """The answer for every refusal a plan write can meet."""
    if isinstance(exc, PlanNotFound):
        return _detail(str(exc), 404)
    if isinstance(exc, plans.PlanIdTaken):
        return _detail(exc.errors["id"][0], 400)
    if isinstance(exc, BodyErrors):
        return _unprocessable(exc.errors)
    if isinstance(exc, PlanValidationError):
        return _unprocessable(rule_errors(exc.errors))
    if isinstance(exc, PlanRuleError | plans.PlanInUse):
        return _detail(str(exc), 400)
    if isinstance(exc, plans.StaleEdit):
        return plan_answer(exc.plan.id, status=412)
    raise exc


def _unprocessable(errors: list[dict[str, Any]]) -> Response:
    response = jsonify(detail=errors)
    response.status_code = 422
    return response


REFUSALS = (
    PlanNotFound,
    PlanValidationError,
    PlanRuleError,
    plans.PlanInUse,
    plans.StaleEdit,
    BodyErrors,
)


def _write(plan_id: str, action: Callable[[int | None], Any]) -> Any:
    """Run ``action(expected_version)`` under If-Match: StaleEdit (412 with the current plan)
    when it is stale; without If-Match, tried again on a concurrent save (up to ATTEMPTS)."""
    for attempt in range(ATTEMPTS):
        plan = plans.get_plan(plan_id)
        try:
            expected = check_if_match(etag_of(plan.version), plan.version)
        except PreconditionFailed:
            raise plans.StaleEdit(plan) from None
        try:
            return action(expected)
        except plans.StaleEdit:
            if expected is not None or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@bp.post("")
@idempotent
def create_plan():
    try:
        spec = create_spec(json_body(required=True))
        plan = plans.create_plan(spec, g.api_actor)
    except REFUSALS as exc:
        return _refusal(exc)
    return plan_answer(plan.id)


@bp.put("/<plan_id>")
def update_plan(plan_id: str):
    data = json_body(required=True)

    def save(expected: int | None):
        plan = plans.get_plan(plan_id)
        spec, _ = update_spec(plans.spec_of(plan), data)
        return plans.update_plan(
            plan_id,
            spec,
            expected_version=expected if expected is not None else plan.version,
            actor=g.api_actor,
            confirmed_price=plans.price_token(spec.price, spec.currency, spec.interval),
        )

    try:
        _write(plan_id, save)
    except REFUSALS as exc:
        return _refusal(exc)
    return plan_answer(plan_id)


@bp.delete("/<plan_id>")
def delete_plan(plan_id: str):
    _no_body()
    try:
        _write(
            plan_id,
            lambda expected: plans.delete_plan(plan_id, g.api_actor, expected_version=expected),
        )
    except REFUSALS as exc:
        return _refusal(exc)
    return jsonify(success=True, message=f"Plan '{plan_id}' deleted")


@bp.patch("/<plan_id>/toggle")
def toggle_plan(plan_id: str):
    _no_body()

    def flip(expected: int | None):
        plan = plans.get_plan(plan_id)
        return plans.set_plan_active(
            plan_id,
            not plan.is_active,
            g.api_actor,
            expected_version=expected if expected is not None else plan.version,
        )

    try:
        _write(plan_id, flip)
    except REFUSALS as exc:
        return _refusal(exc)
    return plan_answer(plan_id)


@bp.post("/<plan_id>/duplicate")
@idempotent
def duplicate_plan(plan_id: str):
    _no_body()
    try:
        copy = plans.duplicate_plan(plan_id, g.api_actor)
    except REFUSALS as exc:
        return _refusal(exc)
    return plan_answer(copy.id)


def _no_body() -> None:
    """These writes take no body; one that is sent must still be JSON (415) and small (413),
    and is otherwise ignored, as the original ignores it."""
    json_body(required=False)
