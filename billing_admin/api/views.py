"""The JSON API for scripts, under /api/v1. Read-only; who may call it is decided by
auth/guard.py (a Bearer token or an admin's session). Paging values are normalised as the
original system does (never an error); other bad input is a 4xx with a JSON ``detail``."""

from flask import Blueprint, current_app, g, jsonify, request

from billing_admin.api.openapi import openapi_document
from billing_admin.plans import service as plans
from billing_admin.plans.errors import PlanNotFound
from billing_admin.plans.spec import to_json_value
from billing_admin.subscribers.service import UnknownStatus, subscribers_page

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _detail(message: str, status: int):
    return jsonify(detail=message), status


@bp.get("/whoami")
def whoami():
    """Which admin a token or session speaks for: a script's first check of its credentials."""
    user = g.api_user
    return jsonify(user_id=user.id, email=user.email, name=user.name, role=user.role)


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/admin/billing/plans")
def list_plans():
    summaries = plans.plan_summaries()
    histories = plans.price_histories([summary.plan.id for summary in summaries])
    return jsonify(items=[_plan_json(s, histories[s.plan.id]) for s in summaries])


@bp.get("/admin/billing/plans/<plan_id>")
def get_plan(plan_id: str):
    try:
        summary = plans.plan_summary(plan_id)
    except PlanNotFound as exc:
        return _detail(str(exc), 404)
    return jsonify(_plan_json(summary, plans.price_history(plan_id)))


@bp.get("/admin/billing/plans/<plan_id>/subscribers")
def plan_subscribers(plan_id: str):
    """The original's endpoint, with the same answer; plus an optional ``status`` filter."""
    try:
        page = subscribers_page(
            plan_id,
            page=request.args.get("page"),
            page_size=request.args.get("page_size"),
            status=request.args.get("status"),
        )
    except PlanNotFound as exc:
        return _detail(str(exc), 404)
    except UnknownStatus as exc:
        return _detail(str(exc), 400)
    except Exception:
        current_app.logger.exception("failed to get the subscribers of plan %r", plan_id)
        return _detail("Failed to get plan subscribers", 500)
    return jsonify(
        items=[row.as_api() for row in page.items],
        total=page.total,
        page=page.page,
        page_size=page.page_size,
        total_pages=page.total_pages,
    )


def _plan_json(summary: plans.PlanSummary, prices: list[plans.PriceSummary]) -> dict:
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
        "prices": [_price_json(entry) for entry in prices],
    }


def _price_json(entry: plans.PriceSummary) -> dict:
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
