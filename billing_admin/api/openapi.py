"""The OpenAPI 3.1 document of the JSON API, served at /api/v1/openapi.json.

Written by hand next to the views it describes; tests/test_api_subscribers.py checks real
answers against it, so the two cannot drift apart unnoticed.
"""

from typing import Any

from billing_admin.models import SUBSCRIPTION_STATUSES
from billing_admin.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from billing_admin.subscribers.service import API_FIELDS

ERROR = {"$ref": "#/components/responses/Error"}


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


def _errors(*codes: int) -> dict[str, Any]:
    meanings = {
        400: "Bad input; `detail` says what",
        401: "No or bad credentials (`WWW-Authenticate: Bearer`)",
        403: "The token's owner, or the signed-in user, is not an admin",
        404: "Unknown plan",
        405: "The API is read-only: only GET, HEAD and OPTIONS",
        500: "Unexpected failure (logged on the server)",
        503: "The database is unavailable; try again in a moment",
    }
    return {str(code): {**ERROR, "description": meanings[code]} for code in codes}


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
                "Read-only JSON API for scripts. Authenticate with `Authorization: Bearer "
                "<token>` (see `flask create-api-token`) or an admin's browser session."
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
                }
            },
            "/api/v1/admin/billing/plans/{plan_id}": {
                "get": {
                    "operationId": "getPlan",
                    "summary": "One plan with subscriber counts and MRR",
                    "parameters": [PLAN_ID],
                    "responses": {
                        "200": _json("Plan", "The plan"),
                        **_errors(401, 403, 404, 405, 503),
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
                    "required": ["items", "total", "page", "page_size", "total_pages"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/PlanSubscriber"},
                        },
                        "total": {"type": "integer", "minimum": 0},
                        "page": {"type": "integer", "minimum": 1},
                        "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                        "total_pages": {
                            "type": "integer",
                            "minimum": 1,
                            "description": "max(1, ceil(total / page_size))",
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
