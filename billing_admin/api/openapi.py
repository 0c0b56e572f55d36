"""The OpenAPI 3.1 document of the JSON API, served at /api/v1/openapi.json and rendered at
/api/docs (Swagger UI).

Written by hand next to the views it describes; tests/test_api_subscribers.py and
tests/test_api_writes.py check real answers against it, and tests/test_api_fuzz.py and
tests/test_api_stateful.py run Schemathesis on it, so the two cannot drift apart unnoticed.
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
    "valid JSON, a bad Idempotency-Key, or a session's write without its CSRF token",
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
                        "200": _json("PlanList", "The plans"),
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
                        "200": _json("PaginatedSubscribers", "A page of subscribers"),
                        **_errors(400, 401, 403, 404, 405, 500, 503),
                    },
                }
            },
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
            },
        },
    }
