"""The subscription endpoints of the API under /api/v1/admin/billing (issue 14): one
subscription with its ETag, the actions the subscription pages offer, and the original's
``GET`` / ``PUT /users/<user_id>/subscription``. Thin, like the pages: parse the body
(api/bodies.py), call the same subscriptions/actions.py function the pages call (the same rules,
audit entry and counts; the actor is the token's admin and name, or the signed-in admin), and
answer.

Answers:

- ``GET /subscriptions/<id>`` and ``/users/<user_id>/subscription``: the subscription (its
  columns, its user, plan and price, and the actions that apply now), ``ETag: "<id>-v<version>"``
  (api/http.py: the id too, so the user's endpoint never matches a subscription not seen).
- ``POST /subscriptions/<id>/<action>``: ``ActionResult.as_dict()`` (the subscription after the
  action, the changed columns old → new, the prices when they change, the audit entry's id),
  with the new ETag. ``{"dry_run": true}`` answers the same without changing anything (the
  pages' confirmation step); its ETag is then the version it was checked against.
- ``PUT /users/<user_id>/subscription`` ``{"plan_id": ...}``: ``change_plan`` on the user's
  current subscription, keeping its period (the original started a new period from now: we keep
  what was paid for, as the page does); answers the subscription, with its new ETag. It honours
  ``Idempotency-Key`` as the actions do: a retry after a lost answer replays it rather than
  meeting its own change as a 412 or a ``same_plan`` refusal.

Refusals: 400 ``{"detail", "code", "field"}`` when a rule refuses (actions.ActionRefused: its
stable ``code`` and the input ``field``, or null); 404 for an unknown subscription or user, or a
user without a current subscription; 412 with the current subscription when If-Match is stale
(checked here first, then again by the service under the row lock); 422 for the body (FastAPI's
shape; unknown fields named); 413 / 415 as every write. Without If-Match the action is done on
the version found (tried again, up to ATTEMPTS, when a concurrent action changes it first).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, jsonify
from pydantic import BaseModel

from billing_admin.api.bodies import (
    BodyErrors,
    ChangePlanBody,
    ExtendBody,
    SubscriptionActionBody,
    UserPlanBody,
    read_body,
)
from billing_admin.api.http import (
    NO_BODY,
    PreconditionFailed,
    check_if_match,
    json_body,
    subscription_etag,
)
from billing_admin.api.idempotency import idempotent
from billing_admin.plans.spec import to_json_value
from billing_admin.subscriptions import actions, service

bp = Blueprint("api_subscriptions", __name__, url_prefix="/api/v1/admin/billing")
ATTEMPTS = 3


@dataclass(frozen=True)
class ApiAction:
    """One action: its URL slug (the page's), endpoint, the audit action naming it in
    ``actions.refusals``, its body, and how it calls the service."""

    slug: str
    endpoint: str
    audit_action: str
    body: type[SubscriptionActionBody]
    run: Callable[..., actions.ActionResult]


def _simple(function: Callable[..., actions.ActionResult]) -> Callable[..., actions.ActionResult]:
    return lambda subscription_id, body, **kwargs: function(subscription_id, **kwargs)


API_ACTIONS = (
    ApiAction(
        "change-plan",
        "change_plan",
        "subscription_plan_changed",
        ChangePlanBody,
        lambda subscription_id, body, **kwargs: actions.change_plan(
            subscription_id, body.plan_id, allow_inactive=body.allow_inactive, **kwargs
        ),
    ),
    ApiAction(
        "cancel",
        "cancel_now",
        "subscription_canceled",
        SubscriptionActionBody,
        _simple(actions.cancel_now),
    ),
    ApiAction(
        "cancel-at-period-end",
        "cancel_at_period_end",
        "subscription_cancel_scheduled",
        SubscriptionActionBody,
        _simple(actions.cancel_at_period_end),
    ),
    ApiAction(
        "resume-renewal",
        "resume_renewal",
        "subscription_renewal_resumed",
        SubscriptionActionBody,
        _simple(actions.resume_renewal),
    ),
    ApiAction(
        "pause", "pause", "subscription_paused", SubscriptionActionBody, _simple(actions.pause)
    ),
    ApiAction(
        "resume",
        "unpause",
        "subscription_unpaused",
        SubscriptionActionBody,
        _simple(actions.unpause),
    ),
    ApiAction(
        "extend",
        "extend",
        "subscription_extended",
        ExtendBody,
        lambda subscription_id, body, **kwargs: actions.extend_period(
            subscription_id, body.days, **kwargs
        ),
    ),
)


# --- Answers -------------------------------------------------------------------------------------


def subscription_json(details: service.SubscriptionDetails) -> dict[str, Any]:
    """The stored columns (times in Unix seconds), plus its user, its plan's name, the price it
    pays (amount: a string with two decimals) and the actions (slugs) that apply now."""
    state = actions.SubscriptionState.of(details.subscription)
    refusals = actions.refusals(state)
    price = details.price
    return {
        **state.as_dict(),
        "user": {"email": details.user.email, "name": details.user.name},
        "plan": {"name": details.plan.name, "is_active": details.plan.is_active},
        "price": {
            "id": price.id,
            "amount": to_json_value(price.amount),
            "currency": price.currency,
            "interval": price.interval,
            "current": details.pays_current_price,
        },
        "available_actions": [a.slug for a in API_ACTIONS if refusals[a.audit_action] is None],
    }


def subscription_answer(subscription_id: str, status: int = 200) -> Response:
    """The subscription as JSON with its ETag. Raises SubscriptionNotFound."""
    details = service.subscription_details(subscription_id, with_history=False)
    response = jsonify(subscription_json(details))
    response.status_code = status
    subscription = details.subscription
    response.headers["ETag"] = subscription_etag(subscription.id, subscription.version)
    return response


def _detail(message: str, status: int) -> Response:
    response = jsonify(detail=message)
    response.status_code = status
    return response


REFUSALS = (
    actions.SubscriptionNotFound,
    actions.StaleSubscription,
    actions.ActionRefused,
    service.UserNotFound,
    service.NoCurrentSubscription,
    BodyErrors,
)


def _refusal(exc: Exception) -> Response:
    """The answer for every refusal a subscription request can meet."""
    if isinstance(
        exc, actions.SubscriptionNotFound | service.UserNotFound | service.NoCurrentSubscription
    ):
        return _detail(str(exc), 404)
    if isinstance(exc, actions.StaleSubscription):
        return subscription_answer(exc.subscription.id, status=412)
    if isinstance(exc, actions.ActionRefused):
        response = jsonify(detail=str(exc), code=exc.code, field=exc.field)
        response.status_code = 400
        return response
    if isinstance(exc, BodyErrors):
        response = jsonify(detail=exc.errors)
        response.status_code = 422
        return response
    raise exc


def _write(subscription_id: str, act: Callable[[int], actions.ActionResult]):
    """Run ``act(expected_version)``: the If-Match version (StaleSubscription at once when the
    subscription is at another), or without If-Match the version found now, tried again on a
    concurrent change (up to ATTEMPTS; last writer wins, as the plan writes)."""
    for attempt in range(ATTEMPTS):
        subscription = actions.get_subscription(subscription_id)
        current = subscription.version
        try:
            expected = check_if_match(subscription_etag(subscription_id, current), current)
        except PreconditionFailed:
            raise actions.StaleSubscription(
                actions.SubscriptionState.of(subscription), current
            ) from None
        try:
            return act(current)
        except actions.StaleSubscription:
            if expected is not None or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _body(model: type[BaseModel]) -> Any:
    """The action's body: 415 / 413 / 400 as every write; none at all is ``{}`` (a required
    field is then reported missing)."""
    data = json_body(required=False)
    return read_body(model, {} if data is NO_BODY else data)


# --- Reads ---------------------------------------------------------------------------------------


@bp.get("/subscriptions/<subscription_id>")
def get_subscription(subscription_id: str):
    """The subscription, with its ETag (its version) for a later If-Match."""
    try:
        return subscription_answer(subscription_id)
    except REFUSALS as exc:
        return _refusal(exc)


@bp.get("/users/<user_id>/subscription")
def get_user_subscription(user_id: str):
    """The original's endpoint: the user's current subscription (their newest not canceled).
    The original's usage figures are not kept by this service, so they are not in the answer."""
    try:
        return subscription_answer(service.current_subscription_id(user_id))
    except REFUSALS as exc:
        return _refusal(exc)


# --- Writes --------------------------------------------------------------------------------------


@bp.put("/users/<user_id>/subscription")
@idempotent
def change_user_plan(user_id: str):
    """The original's plan change for a user, on their current subscription: change_plan,
    keeping the period. If-Match is compared with that subscription's ETag, which names its id:
    a tag taken from a subscription the user had before matches no newer one (412)."""
    try:
        body = read_body(UserPlanBody, json_body(required=True))
        subscription_id = service.current_subscription_id(user_id)
        _write(
            subscription_id,
            lambda expected: actions.change_plan(
                subscription_id,
                body.plan_id,
                allow_inactive=body.allow_inactive,
                expected_version=expected,
                actor=g.api_actor,
            ),
        )
        return subscription_answer(subscription_id)
    except REFUSALS as exc:
        return _refusal(exc)


def _action_view(action: ApiAction) -> Callable:
    def view(subscription_id: str):
        try:
            body = _body(action.body)
            result = _write(
                subscription_id,
                lambda expected: action.run(
                    subscription_id,
                    body,
                    expected_version=expected,
                    actor=g.api_actor,
                    dry_run=body.dry_run,
                ),
            )
        except REFUSALS as exc:
            return _refusal(exc)
        response = jsonify(result.as_dict())
        version = result.subscription.version - (1 if result.dry_run else 0)
        response.headers["ETag"] = subscription_etag(subscription_id, version)
        return response

    view.__name__ = action.endpoint
    return idempotent(view)


for _action in API_ACTIONS:
    bp.add_url_rule(
        f"/subscriptions/<subscription_id>/{_action.slug}",
        endpoint=_action.endpoint,
        view_func=_action_view(_action),
        methods=["POST"],
    )
