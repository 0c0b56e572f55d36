"""The OpenAPI 3.1 document of the JSON API, served at /api/v1/openapi.json and rendered at
/api/docs (Swagger UI).

Written by hand next to the views it describes; tests/test_api_subscribers.py,
tests/test_api_writes.py and tests/test_api_subscription_writes.py check real answers against
it, and tests/test_api_fuzz.py and tests/test_api_stateful.py run Schemathesis on it, so the
two cannot drift apart unnoticed.
Request body schemas are never stricter than the server (a body the document refuses, the
server refuses too); the server has rules the document cannot say (no blank name, no control
characters, two decimal places), which it refuses with 422.
"""

from typing import Any

from billing_admin.api.idempotency import TTL_SECONDS
from billing_admin.models import SUBSCRIPTION_STATUSES
from billing_admin.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from billing_admin.plans.spec import CURRENCIES, INTERVALS, QUOTA_KEYS
from billing_admin.plans.validation import (
    DESCRIPTION_MAX,
    DISPLAY_ORDER_MAX,
    FEATURE_MAX,
    FEATURES_MAX,
    NAME_MAX,
    PLAN_ID_MAX,
    PRICE_LIMIT,
    QUOTA_MAX,
)
from billing_admin.subscribers.service import API_FIELDS
from billing_admin.subscriptions.actions import EXTEND_DAYS_MAX, EXTEND_DAYS_MIN

ERROR = {"$ref": "#/components/responses/Error"}


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


MEANINGS = {
    400: "Bad input; `detail` says what",
    401: "No or bad credentials (`WWW-Authenticate: Bearer`)",
    403: "The token's owner, or the signed-in user, is not an admin",
    404: "Unknown plan",
    405: "The route does not take this method",
    409: "A request with this Idempotency-Key is still being answered: retry later",
    413: "The body is larger than 64 KiB",
    415: "The body is not JSON (`Content-Type: application/json`)",
    500: "Unexpected failure (logged on the server)",
    503: "The database is unavailable; try again in a moment",
}
WRITE_MEANINGS = {
    400: "Refused by a rule (`detail` says which, in the original's words), a body that is not "
    "valid JSON (or nested deeper than 32 levels, or holding a NUL character or a key twice "
    "in one object), a bad Idempotency-Key, or a session's write without its CSRF token",
    403: "Not an admin, a viewer, or a token whose scope is `read`",
}


def _errors(*codes: int, write: bool = False) -> dict[str, Any]:
    meanings = {**MEANINGS, **(WRITE_MEANINGS if write else {})}
    return {str(code): {**ERROR, "description": meanings[code]} for code in codes}


ETAG_HEADER = {
    "ETag": {
        "description": 'The plan\'s version as a strong entity tag (`"v7"`): send it back in '
        "`If-Match` to change exactly this version",
        "required": True,
        "schema": {"type": "string", "pattern": '^"v[0-9]+"$'},
    }
}


def _plan_answer(description: str) -> dict[str, Any]:
    return {**_json("Plan", description), "headers": ETAG_HEADER}


STALE = {
    **_plan_answer(
        "If-Match named another version: nothing was changed; the body and ETag are the plan "
        "as it is now"
    )
}
UNPROCESSABLE = {
    "description": "The body's fields are invalid (every field's errors, FastAPI's shape), or "
    "an Idempotency-Key is reused with another body (`detail` is then a string)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationError"}}},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "Optional: the ETag of the version you mean to change. When the plan is at "
    "another version, nothing is changed and the answer is 412 with the plan as it is now.",
    "schema": {"type": "string"},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Optional: a key of your choosing (e.g. a UUID). The same key with the same "
    f"body within {TTL_SECONDS // 3600} hours returns the first answer (with "
    "`Idempotent-Replayed: true`) without doing the work again; with another body: 422; "
    "while the first is still being answered: 409.",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
}


def _links(plan_id: str) -> dict[str, Any]:
    """What a plan answer leads to (for clients, and for Schemathesis's stateful runs): the
    plan's id, and for the writes its ETag as If-Match, as docs/api.md tells scripts to do."""
    with_id = {"plan_id": plan_id}
    with_etag = {**with_id, "header.If-Match": "$response.header.ETag"}
    return {
        name: {"operationId": operation, "parameters": parameters}
        for name, operation, parameters in (
            ("GetPlan", "getPlan", with_id),
            ("UpdatePlan", "updatePlan", with_etag),
            ("TogglePlan", "togglePlan", with_etag),
            ("DuplicatePlan", "duplicatePlan", with_id),
            ("DeletePlan", "deletePlan", with_etag),
            ("GetPlanSubscribers", "getPlanSubscribers", with_id),
        )
    }


def _body(schema_ref: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


def _text(limit: int, *, nullable: bool) -> dict[str, Any]:
    return {"type": ["string", "null"] if nullable else "string", "maxLength": limit}


MONEY_IN = {
    "description": "RUB (or the plan's currency) with at most two decimals: a number or a "
    'decimal string ("490.00")',
    "anyOf": [
        {"type": "number", "minimum": 0, "exclusiveMaximum": int(PRICE_LIMIT)},
        {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"},
    ],
}


def _plan_fields(*, update: bool) -> dict[str, Any]:
    """The writable fields; in an update every field is optional and null clears the
    nullable ones."""
    return {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
        "name_ru": _text(NAME_MAX, nullable=True),
        "description": _text(DESCRIPTION_MAX, nullable=True),
        "description_ru": _text(DESCRIPTION_MAX, nullable=True),
        "price": MONEY_IN,
        "currency": {"type": "string", "enum": list(CURRENCIES)},
        "interval": {"type": "string", "enum": list(INTERVALS)},
        "quotas": {"$ref": "#/components/schemas/QuotasIn"},
        "features": {
            "type": ["array", "null"] if update else "array",
            "maxItems": FEATURES_MAX,
            "items": {"type": "string", "minLength": 1, "maxLength": FEATURE_MAX},
            **({"description": "null: no features"} if update else {}),
        },
        "is_active": {"type": "boolean"},
        "display_order": {"type": "integer", "minimum": 0, "maximum": DISPLAY_ORDER_MAX},
        "plan_extra_metadata": {"type": ["object", "null"]},
    }


PLAN_ID = {
    "name": "plan_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9_-]+$", "maxLength": 64},
}

NULLABLE_STRING = {"type": ["string", "null"]}
MONEY = {
    "type": "string",
    "pattern": r"^\d+\.\d{2}$",
    "description": "Decimal with two places, as a string (exact)",
}
# Any text: what is not a whole number in range is normalised, never refused. The one
# exception is the NUL character, which no request may carry (a 400, security/input.py).
NORMALISED_NUMBER = {"type": "string", "pattern": "^[^\\x00]*$"}


# --- Subscriptions (api/subscriptions.py) ----------------------------------------------------

SUBSCRIPTION_MEANINGS = {
    400: "Refused by a rule: `detail` says why, `code` is a stable word for scripts and `field` "
    "the input it is about (or null); also a body that is not valid JSON (or nested deeper "
    "than 32 levels, or holding a NUL character or a key twice in one object), a bad "
    "Idempotency-Key, or a session's write without its CSRF token (`detail` only)",
    404: "Unknown subscription or user, or a user without a current subscription",
}
SUBSCRIPTION_ETAG = {
    "ETag": {
        **ETAG_HEADER["ETag"],
        "description": "The subscription's id and version as a strong entity tag "
        '(`"<id>-v7"`, the id percent-encoded): send it back in `If-Match` to act on exactly '
        "this subscription at this version",
        "schema": {"type": "string", "pattern": '^"[\\x21\\x23-\\x7e]+-v[0-9]+"$'},
    }
}
SUBSCRIPTION_IF_MATCH = {
    **IF_MATCH,
    "description": "Optional: the ETag of the subscription and version you mean to act on. When "
    "the subscription is at another version (or, for a user's subscription, is another "
    "subscription), nothing is changed and the answer is 412 with the subscription as it is "
    "now. Without it the action is done on whatever version is current.",
}
SUBSCRIPTION_ID = {
    "name": "subscription_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}
USER_ID = {**SUBSCRIPTION_ID, "name": "user_id"}
# (slug, operationId, summary, body schema, description)
SUBSCRIPTION_ACTIONS = (
    (
        "change-plan",
        "changeSubscriptionPlan",
        "Move the subscription to another plan now (audit: subscription_plan_changed)",
        "ChangePlanAction",
        "It pays the new plan's current price from now; its status, period dates, trial end and "
        "a scheduled cancellation are kept. Refused (400) for a canceled subscription "
        "(`canceled`), its own plan (`same_plan`), an unknown plan (`unknown_plan`), an "
        "inactive one unless `allow_inactive` (`inactive_plan`) and a plan without a current "
        "price (`no_current_price`).",
    ),
    (
        "cancel",
        "cancelSubscription",
        "Cancel now (audit: subscription_canceled)",
        "SubscriptionAction",
        "Status `canceled`, `canceled_at` now, a scheduled cancellation cleared; period dates "
        "kept. Refused when already canceled (`already_canceled`).",
    ),
    (
        "cancel-at-period-end",
        "scheduleSubscriptionCancel",
        "Cancel at the end of the current period (audit: subscription_cancel_scheduled)",
        "SubscriptionAction",
        "Sets `cancel_at_period_end`. Refused for a canceled subscription (`canceled`) or one "
        "already set to (`already_scheduled`).",
    ),
    (
        "resume-renewal",
        "resumeSubscriptionRenewal",
        "Undo a scheduled cancellation (audit: subscription_renewal_resumed)",
        "SubscriptionAction",
        "Clears `cancel_at_period_end`. Refused for a canceled subscription (`canceled`) or one "
        "not set to cancel (`not_scheduled`).",
    ),
    (
        "pause",
        "pauseSubscription",
        "Pause an active subscription (audit: subscription_paused)",
        "SubscriptionAction",
        "`active` → `paused`; period dates kept. Refused for a canceled subscription "
        "(`canceled`) and for a paused, trialing or past-due one (`not_active`).",
    ),
    (
        "resume",
        "resumeSubscription",
        "Resume a paused subscription (audit: subscription_unpaused)",
        "SubscriptionAction",
        "`paused` → `active`; period dates kept (extend the period to credit the paused days). "
        "Refused for a canceled subscription (`canceled`) and any other not paused "
        "(`not_paused`).",
    ),
    (
        "extend",
        "extendSubscription",
        "Add days to the current period (audit: subscription_extended)",
        "ExtendAction",
        f"`current_period_end` + `days` × 86,400 s ({EXTEND_DAYS_MIN}–{EXTEND_DAYS_MAX} days, "
        "and ending by 9999-12-31T23:59:59Z, else 400 `days_out_of_range` with field `days`); a "
        "trial's end moves with it. Refused for a canceled subscription (`canceled`).",
    ),
)


def _subscription_errors(*codes: int, write: bool = True) -> dict[str, Any]:
    answers = _errors(*(c for c in codes if c not in SUBSCRIPTION_MEANINGS), write=write)
    for code in codes:
        if code == 400:
            meaning = SUBSCRIPTION_MEANINGS[400] if write else MEANINGS[400]
            answers["400"] = _json("Refusal", meaning)
        elif code in SUBSCRIPTION_MEANINGS:
            answers[str(code)] = {**ERROR, "description": SUBSCRIPTION_MEANINGS[code]}
    return answers


def _subscription_links(subscription_id: str) -> dict[str, Any]:
    """From a subscription (or an action's result) to the subscription and each action, with its
    ETag as If-Match, as docs/api.md tells scripts to do."""
    with_id = {"subscription_id": subscription_id}
    with_etag = {**with_id, "header.If-Match": "$response.header.ETag"}
    links = {"GetSubscription": {"operationId": "getSubscription", "parameters": with_id}}
    for _, operation, *_ in SUBSCRIPTION_ACTIONS:
        name = operation[0].upper() + operation[1:]
        links[name] = {"operationId": operation, "parameters": with_etag}
    return links


def _subscription_answer(description: str, links: str | None = "$response.body#/id"):
    answer = {**_json("Subscription", description), "headers": SUBSCRIPTION_ETAG}
    if links:
        answer["links"] = _subscription_links(links)
    return answer


SUBSCRIPTION_STALE = _subscription_answer(
    "If-Match named another version: nothing was changed; the body and ETag are the "
    "subscription as it is now",
    links=None,
)
USER_LINKS = {
    name: {"operationId": operation, "parameters": {"user_id": "$response.body#/items/0/user_id"}}
    for name, operation in (
        ("GetUserSubscription", "getUserSubscription"),
        ("ChangeUserPlan", "changeUserPlan"),
    )
}


def _subscription_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/v1/admin/billing/subscriptions/{subscription_id}": {
            "get": {
                "operationId": "getSubscription",
                "summary": "One subscription, its user, plan and price, and the actions that "
                "apply to it now",
                "parameters": [SUBSCRIPTION_ID],
                "responses": {
                    "200": _subscription_answer("The subscription"),
                    **_subscription_errors(400, 401, 403, 404, 405, 503, write=False),
                },
            }
        },
        "/api/v1/admin/billing/users/{user_id}/subscription": {
            "get": {
                "operationId": "getUserSubscription",
                "summary": "The user's current subscription (the original's endpoint)",
                "description": "Their newest subscription that is not canceled; 404 when they "
                "have none. The original's usage figures are not kept by this service.",
                "parameters": [USER_ID],
                "responses": {
                    "200": _subscription_answer("The user's current subscription"),
                    **_subscription_errors(400, 401, 403, 404, 405, 503, write=False),
                },
            },
            "put": {
                "operationId": "changeUserPlan",
                "summary": "Move the user's current subscription to another plan (the "
                "original's endpoint; audit: subscription_plan_changed)",
                "description": "The change-plan action on the user's current subscription. "
                "Unlike the original, the period is kept (not restarted from now), a user "
                "without a current subscription is a 404 (no subscription is granted), and "
                "`reset_usage` may only be false (usage is not kept here). If-Match is compared "
                "with that subscription's ETag, which names it: the ETag of a subscription the "
                "user had before is a 412. Idempotency-Key as for the actions. Refusals as "
                "change-plan.",
                "parameters": [USER_ID, SUBSCRIPTION_IF_MATCH, IDEMPOTENCY_KEY],
                "requestBody": _body("UserPlanChange"),
                "responses": {
                    "200": _subscription_answer("The subscription as saved"),
                    "412": SUBSCRIPTION_STALE,
                    "422": UNPROCESSABLE,
                    **_subscription_errors(400, 401, 403, 404, 409, 413, 415, 503),
                },
            },
        },
    }
    for slug, operation, summary, body, description in SUBSCRIPTION_ACTIONS:
        paths[f"/api/v1/admin/billing/subscriptions/{{subscription_id}}/{slug}"] = {
            "post": {
                "operationId": operation,
                "summary": summary,
                "description": description
                + " With `dry_run: true`, nothing changes: the answer says what would, and its "
                "ETag is the version checked.",
                "parameters": [SUBSCRIPTION_ID, SUBSCRIPTION_IF_MATCH, IDEMPOTENCY_KEY],
                "requestBody": {**_body(body), "required": body != "SubscriptionAction"},
                "responses": {
                    "200": {
                        **_json("ActionResult", "What the action did (or would do)"),
                        "headers": SUBSCRIPTION_ETAG,
                        "links": _subscription_links("$response.body#/subscription/id"),
                    },
                    "412": SUBSCRIPTION_STALE,
                    "422": UNPROCESSABLE,
                    **_subscription_errors(400, 401, 403, 404, 409, 413, 415, 503),
                },
            }
        }
    return paths


def _subscription_schemas(statuses: list[str]) -> dict[str, Any]:
    integer = {"type": "integer"}
    seconds = {"type": "integer", "description": "Unix seconds"}
    maybe_seconds = {"type": ["integer", "null"], "description": "Unix seconds"}
    state = {
        "id": {"type": "string"},
        "user_id": {"type": "string"},
        "plan_id": {"type": "string"},
        "price_id": {**integer, "description": "The price it pays (billing_price)"},
        "status": {"type": "string", "enum": statuses},
        "current_period_start": seconds,
        "current_period_end": seconds,
        "cancel_at_period_end": {"type": "boolean"},
        "trial_end": maybe_seconds,
        "canceled_at": maybe_seconds,
        "created_at": seconds,
        "updated_at": seconds,
        "version": {**integer, "description": "Grows with every change; the ETag is made of it"},
    }
    price_paid = {
        "type": "object",
        "required": ["id", "amount", "currency", "interval"],
        "properties": {
            "id": integer,
            "amount": MONEY,
            "currency": {"type": "string", "enum": list(CURRENCIES)},
            "interval": {"type": "string", "enum": list(INTERVALS)},
        },
        "additionalProperties": False,
    }
    action_body = {"dry_run": {"type": "boolean", "description": "Say what would change only"}}
    return {
        "SubscriptionState": {
            "type": "object",
            "required": list(state),
            "properties": state,
            "additionalProperties": False,
        },
        "Subscription": {
            "type": "object",
            "required": [*state, "user", "plan", "price", "available_actions"],
            "properties": {
                **state,
                "user": {
                    "type": "object",
                    "required": ["email", "name"],
                    "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
                    "additionalProperties": False,
                },
                "plan": {
                    "type": "object",
                    "required": ["name", "is_active"],
                    "properties": {"name": {"type": "string"}, "is_active": {"type": "boolean"}},
                    "additionalProperties": False,
                },
                "price": {
                    **price_paid,
                    "required": [*price_paid["required"], "current"],
                    "properties": {
                        **price_paid["properties"],
                        "current": {
                            "type": "boolean",
                            "description": "Whether it is the plan's current price",
                        },
                    },
                },
                "available_actions": {
                    "type": "array",
                    "description": "The actions (their path's last part) that apply to the "
                    "subscription as it is now, whatever their inputs",
                    "items": {"type": "string", "enum": [a[0] for a in SUBSCRIPTION_ACTIONS]},
                },
            },
            "additionalProperties": False,
        },
        "ActionResult": {
            "type": "object",
            "required": [
                "action",
                "subscription",
                "changes",
                "prices",
                "audit_entry_id",
                "dry_run",
            ],
            "properties": {
                "action": {"type": "string", "description": "The audit entry's action"},
                "subscription": {
                    "$ref": "#/components/schemas/SubscriptionState",
                    "description": "The subscription after the action (with dry_run: as it "
                    "would be)",
                },
                "changes": {
                    "type": "object",
                    "description": "The changed columns only: {column: {old, new}}",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["old", "new"],
                        "properties": {"old": {}, "new": {}},
                        "additionalProperties": False,
                    },
                },
                "prices": {
                    "description": "The price paid before and after, when the action changes it",
                    "oneOf": [
                        {"type": "null"},
                        {
                            "type": "object",
                            "required": ["old", "new"],
                            "properties": {"old": price_paid, "new": price_paid},
                            "additionalProperties": False,
                        },
                    ],
                },
                "audit_entry_id": {"type": ["integer", "null"], "description": "null: dry_run"},
                "dry_run": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "Refusal": {
            "type": "object",
            "required": ["detail"],
            "properties": {
                "detail": {"type": "string"},
                "code": {
                    "type": "string",
                    "description": "canceled, same_plan, inactive_plan, unknown_plan, "
                    "no_current_price, already_canceled, already_scheduled, not_scheduled, "
                    "not_active, not_paused, days_out_of_range, invalid_input",
                },
                "field": {"type": ["string", "null"], "description": "The input it is about"},
            },
            "additionalProperties": False,
        },
        "SubscriptionAction": {
            "type": "object",
            "properties": action_body,
            "additionalProperties": False,
        },
        "ChangePlanAction": {
            "type": "object",
            "required": ["plan_id"],
            "properties": {
                "plan_id": {"type": "string"},
                "allow_inactive": {"type": "boolean", "description": "Allow an inactive plan"},
                **action_body,
            },
            "additionalProperties": False,
        },
        "ExtendAction": {
            "type": "object",
            "required": ["days"],
            "properties": {
                "days": {
                    "type": "integer",
                    "description": f"{EXTEND_DAYS_MIN}–{EXTEND_DAYS_MAX} (else a 400)",
                },
                **action_body,
            },
            "additionalProperties": False,
        },
        "UserPlanChange": {
            "type": "object",
            "required": ["plan_id"],
            "properties": {
                "plan_id": {"type": "string"},
                "allow_inactive": {"type": "boolean", "description": "Allow an inactive plan"},
                "reset_usage": {
                    "type": "boolean",
                    "description": "The original's; only false is accepted (no usage kept)",
                },
            },
            "additionalProperties": False,
        },
    }


def openapi_document() -> dict[str, Any]:
    statuses = list(SUBSCRIPTION_STATUSES)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Billing Admin API",
            "version": "1.0.0",
            "description": (
                "JSON API for scripts. Authenticate with `Authorization: Bearer <token>` "
                "(`flask create-api-token`; writes need `--scope write`) or an admin's browser "
                "session (whose writes must send the CSRF token as `X-CSRFToken`). Writes take "
                "JSON bodies of at most 64 KiB. See docs/api.md for a walk-through."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/admin/billing/plans": {
                "get": {
                    "operationId": "listPlans",
                    "summary": "Every plan, in display order, with subscriber counts and MRR",
                    "responses": {
                        "200": {
                            **_json("PlanList", "The plans"),
                            "links": {
                                "GetPlanSubscribers": {
                                    "operationId": "getPlanSubscribers",
                                    "parameters": {"plan_id": "$response.body#/items/0/id"},
                                }
                            },
                        },
                        **_errors(401, 403, 405, 503),
                    },
                },
                "post": {
                    "operationId": "createPlan",
                    "summary": "Create a plan (audit: plan_created)",
                    "description": "Without `id`, one is made from the name (lowercase letters, "
                    "digits, `_`; `_2`, `_3`... when taken). An existing `id` is a 400: "
                    "\"Plan with ID '<id>' already exists\".",
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": _body("PlanCreate"),
                    "responses": {
                        "200": {
                            **_plan_answer("The new plan"),
                            "links": _links("$response.body#/id"),
                        },
                        "422": UNPROCESSABLE,
                        **_errors(400, 401, 403, 409, 413, 415, 503, write=True),
                    },
                },
            },
            "/api/v1/admin/billing/plans/{plan_id}": {
                "get": {
                    "operationId": "getPlan",
                    "summary": "One plan with subscriber counts and MRR",
                    "parameters": [PLAN_ID],
                    "responses": {
                        "200": {
                            **_plan_answer("The plan"),
                            "links": _links("$request.path.plan_id"),
                        },
                        **_errors(401, 403, 404, 405, 503),
                    },
                },
                "put": {
                    "operationId": "updatePlan",
                    "summary": "Change some of a plan's fields (audit: plan_updated)",
                    "description": "Only the fields sent change; `null` clears a field that can "
                    "be empty (name_ru, descriptions, quotas: unlimited, features, metadata). "
                    "Lowering a quota while the plan has active subscriptions is a 400 with the "
                    "original's message. A new price (amount, currency or interval) applies to "
                    "new subscriptions; existing ones keep the price they pay.",
                    "parameters": [PLAN_ID, IF_MATCH],
                    "requestBody": _body("PlanUpdate"),
                    "responses": {
                        "200": {
                            **_plan_answer("The plan as saved"),
                            "links": _links("$request.path.plan_id"),
                        },
                        "412": STALE,
                        "422": UNPROCESSABLE,
                        **_errors(400, 401, 403, 404, 413, 415, 503, write=True),
                    },
                },
                "delete": {
                    "operationId": "deletePlan",
                    "summary": "Delete a plan no subscription refers to (audit: plan_deleted)",
                    "description": "A plan with active subscriptions is refused (400, the "
                    "original's message), and so is one any subscription still refers to.",
                    "parameters": [PLAN_ID, IF_MATCH],
                    "responses": {
                        "200": _json("Deleted", "Deleted"),
                        "412": STALE,
                        **_errors(400, 401, 403, 404, 413, 415, 503, write=True),
                    },
                },
            },
            "/api/v1/admin/billing/plans/{plan_id}/toggle": {
                "patch": {
                    "operationId": "togglePlan",
                    "summary": "Activate an inactive plan or deactivate an active one "
                    "(audit: plan_activated / plan_deactivated)",
                    "parameters": [PLAN_ID, IF_MATCH],
                    "responses": {
                        "200": _plan_answer("The plan as saved"),
                        "412": STALE,
                        **_errors(400, 401, 403, 404, 413, 415, 503, write=True),
                    },
                }
            },
            "/api/v1/admin/billing/plans/{plan_id}/duplicate": {
                "post": {
                    "operationId": "duplicatePlan",
                    "summary": "An inactive copy listed after the plan (audit: plan_duplicated)",
                    "description": 'Named "<name> (Copy)" / "<name_ru> (Копия)", id '
                    "`<id>_copy` (or `_copy_2`...), display_order + 1; metadata is not copied.",
                    "parameters": [PLAN_ID, IDEMPOTENCY_KEY],
                    "responses": {
                        "200": {**_plan_answer("The copy"), "links": _links("$response.body#/id")},
                        "422": UNPROCESSABLE,
                        **_errors(400, 401, 403, 404, 409, 413, 415, 503, write=True),
                    },
                }
            },
            "/api/v1/admin/billing/plans/{plan_id}/subscribers": {
                "get": {
                    "operationId": "getPlanSubscribers",
                    "summary": "One page of a plan's subscribers, newest subscription first",
                    "description": (
                        "Paging values are normalised, never refused: page < 1 gives 1; "
                        f"page_size < 1 gives {DEFAULT_PAGE_SIZE}; page_size > {MAX_PAGE_SIZE} "
                        f"gives {MAX_PAGE_SIZE}; a value that is not a whole number gives the "
                        "default. A page past the last has empty `items` and the right `total`."
                    ),
                    "parameters": [
                        PLAN_ID,
                        {
                            "name": "page",
                            "in": "query",
                            "required": False,
                            "description": "1-based page number (default 1)",
                            "schema": NORMALISED_NUMBER,
                        },
                        {
                            "name": "page_size",
                            "in": "query",
                            "required": False,
                            "description": f"Items per page, 1 to {MAX_PAGE_SIZE} "
                            f"(default {DEFAULT_PAGE_SIZE})",
                            "schema": NORMALISED_NUMBER,
                        },
                        {
                            "name": "status",
                            "in": "query",
                            "required": False,
                            "description": "Only subscriptions in this status; empty: all. "
                            "Any other value is a 400 naming the valid ones.",
                            "schema": {"type": "string", "enum": [*statuses, ""]},
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "required": False,
                            "description": "The `next_cursor` of a previous answer (same plan "
                            "and status): continue after its last row, ignoring `page`. A walk "
                            "by cursor sees every row that matched throughout exactly once, "
                            "while subscriptions are added or change status. A cursor that is "
                            "not one of ours, or of another plan or status, is a 400.",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            **_json("PaginatedSubscribers", "A page of subscribers"),
                            "links": USER_LINKS,
                        },
                        **_errors(400, 401, 403, 404, 405, 500, 503),
                    },
                }
            },
            **_subscription_paths(),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": {"detail": {"type": "string"}},
                    "additionalProperties": False,
                },
                "PlanSubscriber": {
                    "type": "object",
                    "required": list(API_FIELDS),
                    "properties": {
                        "user_id": {"type": "string"},
                        "email": {"type": "string"},
                        "name": {"type": "string"},
                        "subscription_status": {"type": "string", "enum": statuses},
                        "subscribed_at": {
                            "type": "integer",
                            "description": "When the subscription was created (Unix seconds)",
                        },
                        "current_period_end": {
                            "type": "integer",
                            "description": "End of the current billing period (Unix seconds)",
                        },
                    },
                    "additionalProperties": False,
                },
                "PaginatedSubscribers": {
                    "type": "object",
                    "required": [
                        "items",
                        "total",
                        "page",
                        "page_size",
                        "total_pages",
                        "next_cursor",
                    ],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/PlanSubscriber"},
                        },
                        "total": {"type": "integer", "minimum": 0},
                        "page": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "description": "The page number; null in an answer to `cursor`",
                        },
                        "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                        "total_pages": {
                            "type": "integer",
                            "minimum": 1,
                            "description": "max(1, ceil(total / page_size))",
                        },
                        "next_cursor": {
                            "type": ["string", "null"],
                            "description": "Pass as `cursor` for the rows after this answer's "
                            "last; null when no row follows",
                        },
                    },
                    "additionalProperties": False,
                },
                "Quotas": {
                    "type": ["object", "null"],
                    "description": "Per billing period; null: the whole plan is unlimited; "
                    "a null or missing key: that metric is unlimited",
                    "properties": {
                        key: {"type": ["integer", "null"], "minimum": 0}
                        for key in ("tokens_input", "tokens_output", "requests")
                    },
                    "additionalProperties": False,
                },
                "Plan": {
                    "type": "object",
                    "required": [
                        "id",
                        "name",
                        "price",
                        "currency",
                        "interval",
                        "quotas",
                        "features",
                        "is_active",
                        "display_order",
                        "subscribers",
                        "subscribers_total",
                        "mrr",
                        "mrr_by_currency",
                        "prices",
                    ],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "name_ru": NULLABLE_STRING,
                        "description": NULLABLE_STRING,
                        "description_ru": NULLABLE_STRING,
                        "price": {
                            "type": "string",
                            "pattern": r"^\d+\.\d{2}$",
                            "description": "Decimal with two places, as a string (exact)",
                        },
                        "currency": {"type": "string", "enum": ["RUB", "USD", "EUR"]},
                        "interval": {"type": "string", "enum": ["day", "week", "month", "year"]},
                        "quotas": {"$ref": "#/components/schemas/Quotas"},
                        "features": {"type": "array", "items": {"type": "string"}},
                        "is_active": {"type": "boolean"},
                        "display_order": {"type": "integer"},
                        "plan_extra_metadata": {"type": ["object", "null"]},
                        "created_at": {"type": "integer"},
                        "updated_at": {"type": "integer"},
                        "version": {"type": "integer"},
                        "subscribers": {
                            "type": "object",
                            "description": "Subscriptions by status",
                            "required": statuses,
                            "properties": {s: {"type": "integer"} for s in statuses},
                            "additionalProperties": False,
                        },
                        "subscribers_total": {"type": "integer"},
                        "mrr": {
                            **MONEY,
                            "description": "Monthly recurring revenue in the plan's currency: "
                            "the monthly value of the price each active subscription pays",
                        },
                        "mrr_by_currency": {
                            "type": "object",
                            "description": "MRR per currency: the plan's own, and any other "
                            "that active subscriptions still pay an older price in",
                            "additionalProperties": MONEY,
                        },
                        "prices": {
                            "type": "array",
                            "description": "Every price the plan has had, the current one first",
                            "items": {"$ref": "#/components/schemas/Price"},
                        },
                    },
                    "additionalProperties": False,
                },
                "Price": {
                    "type": "object",
                    "required": [
                        "id",
                        "amount",
                        "currency",
                        "interval",
                        "active_from",
                        "active_until",
                        "current",
                        "subscribers",
                        "subscribers_total",
                        "mrr",
                    ],
                    "properties": {
                        "id": {"type": "integer"},
                        "amount": MONEY,
                        "currency": {"type": "string", "enum": ["RUB", "USD", "EUR"]},
                        "interval": {"type": "string", "enum": ["day", "week", "month", "year"]},
                        "active_from": {"type": "integer", "description": "Unix seconds"},
                        "active_until": {
                            "type": ["integer", "null"],
                            "description": "Unix seconds; null while it is the current price",
                        },
                        "current": {"type": "boolean"},
                        "subscribers": {
                            "type": "object",
                            "description": "Subscriptions paying this price, by status",
                            "required": statuses,
                            "properties": {s: {"type": "integer"} for s in statuses},
                            "additionalProperties": False,
                        },
                        "subscribers_total": {"type": "integer"},
                        "mrr": {
                            **MONEY,
                            "description": "The MRR of the active subscriptions paying it, in "
                            "its currency",
                        },
                    },
                    "additionalProperties": False,
                },
                "QuotasIn": {
                    "type": ["object", "null"],
                    "description": "Per billing period; null: the whole plan is unlimited; a "
                    "null or missing key: that metric is unlimited",
                    "properties": {
                        key: {"type": ["integer", "null"], "minimum": 0, "maximum": QUOTA_MAX}
                        for key in QUOTA_KEYS
                    },
                    "additionalProperties": False,
                },
                "PlanCreate": {
                    "type": "object",
                    "required": ["name", "price"],
                    "properties": {
                        "id": {
                            "type": ["string", "null"],
                            "pattern": "^[a-z0-9_-]+$",
                            "maxLength": PLAN_ID_MAX,
                            "description": "Optional: made from the name when left out",
                        },
                        **_plan_fields(update=False),
                    },
                    "additionalProperties": False,
                },
                "PlanUpdate": {
                    "type": "object",
                    "properties": _plan_fields(update=True),
                    "additionalProperties": False,
                },
                "Deleted": {
                    "type": "object",
                    "required": ["success", "message"],
                    "properties": {
                        "success": {"const": True},
                        "message": {"type": "string", "description": "Plan '<id>' deleted"},
                    },
                    "additionalProperties": False,
                },
                "ValidationError": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": {
                        "detail": {
                            "oneOf": [
                                {"type": "string"},
                                {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {"$ref": "#/components/schemas/FieldError"},
                                },
                            ]
                        }
                    },
                    "additionalProperties": False,
                },
                "FieldError": {
                    "type": "object",
                    "required": ["loc", "msg", "type"],
                    "properties": {
                        "loc": {
                            "type": "array",
                            "description": 'Where: ["body"] or ["body", "<field>", ...]',
                            "prefixItems": [{"const": "body"}],
                            "items": {"type": ["string", "integer"]},
                        },
                        "msg": {"type": "string"},
                        "type": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
                "PlanList": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Plan"}}
                    },
                    "additionalProperties": False,
                },
                **_subscription_schemas(statuses),
            },
        },
    }
