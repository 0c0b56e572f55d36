"""The API's answers for plans: the original's plan object with our additions, and its ETag."""

from flask import Response, jsonify

from billing_admin.api.http import etag_of
from billing_admin.plans import service as plans
from billing_admin.plans.spec import to_json_value


def plan_answer(plan_id: str, status: int = 200) -> Response:
    """The plan as JSON with ``ETag`` (from its version). Raises PlanNotFound."""
    summary = plans.plan_summary(plan_id)
    response = jsonify(plan_json(summary, plans.price_history(plan_id)))
    response.status_code = status
    response.headers["ETag"] = etag_of(summary.plan.version)
    return response


def plan_json(summary: plans.PlanSummary, prices: list[plans.PriceSummary]) -> dict:
    """The original's plan object with its counts and MRR; ``price`` stays the current price and
    ``mrr`` the MRR in the plan's currency (now what each subscription's own price is worth);
    ``mrr_by_currency`` and ``prices`` (the history, with counts) are ours (issue 12)."""
    plan = summary.plan
    return {
        "id": plan.id,
        "name": plan.name,
        "name_ru": plan.name_ru,
        "description": plan.description,
        "description_ru": plan.description_ru,
        "price": to_json_value(plan.price),
        "currency": plan.currency,
        "interval": plan.interval,
        "quotas": plan.quotas,
        "features": plan.features or [],
        "is_active": plan.is_active,
        "display_order": plan.display_order,
        "plan_extra_metadata": plan.plan_extra_metadata,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
        "version": plan.version,
        "subscribers": summary.counts,
        "subscribers_total": summary.subscriptions,
        "mrr": to_json_value(summary.mrr[plan.currency]),
        "mrr_by_currency": {c: to_json_value(amount) for c, amount in summary.mrr.items()},
        "prices": [price_json(entry) for entry in prices],
    }


def price_json(entry: plans.PriceSummary) -> dict:
    price = entry.price
    return {
        "id": price.id,
        "amount": to_json_value(price.amount),
        "currency": price.currency,
        "interval": price.interval,
        "active_from": price.active_from,
        "active_until": price.active_until,
        "current": price.is_current,
        "subscribers": entry.counts,
        "subscribers_total": entry.subscriptions,
        "mrr": to_json_value(entry.mrr),
    }
