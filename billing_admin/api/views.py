"""The JSON API for scripts, under /api/v1: reads here, plan writes in plan_writes.py, one
subscription and its actions in subscriptions.py. Who may call it is decided by auth/guard.py
(a Bearer token or an admin's session). Paging values are normalised as the original system
does (never an error); other bad input is a 4xx with a JSON ``detail``."""

import math

from flask import Blueprint, current_app, g, jsonify, request

from billing_admin.api.cursors import BadCursor, Cursor, decode_cursor, encode_cursor
from billing_admin.api.openapi import openapi_document
from billing_admin.api.representations import plan_answer, plan_json
from billing_admin.plans import service as plans
from billing_admin.plans.errors import PlanNotFound
from billing_admin.subscribers.service import UnknownStatus, subscribers_after, subscribers_page

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
    return jsonify(items=[plan_json(s, histories[s.plan.id]) for s in summaries])


@bp.get("/admin/billing/plans/<plan_id>")
def get_plan(plan_id: str):
    """The plan, with its ETag (its version) for a later If-Match."""
    try:
        return plan_answer(plan_id)
    except PlanNotFound as exc:
        return _detail(str(exc), 404)


@bp.get("/admin/billing/plans/<plan_id>/subscribers")
def plan_subscribers(plan_id: str):
    """The original's endpoint, with the same answer; plus an optional ``status`` filter and
    ``next_cursor``. With ``?cursor=`` the answer continues after the cursor's row (page and
    ``page`` are then ignored: ``page`` is null), so a walk sees each row that matched
    throughout exactly once while rows are added or change status (api/cursors.py)."""
    status = request.args.get("status") or None
    cursor_text = request.args.get("cursor")
    try:
        if cursor_text is not None:
            after = decode_cursor(cursor_text, plan_id, status)
            rows = subscribers_after(
                plan_id, after, page_size=request.args.get("page_size"), status=status
            )
            return _subscribers_answer(
                plan_id, status, rows.items, rows.total, None, rows.page_size, rows.more
            )
        page = subscribers_page(
            plan_id,
            page=request.args.get("page"),
            page_size=request.args.get("page_size"),
            status=status,
        )
    except PlanNotFound as exc:
        return _detail(str(exc), 404)
    except (UnknownStatus, BadCursor) as exc:
        return _detail(str(exc), 400)
    except Exception:
        current_app.logger.exception("failed to get the subscribers of plan %r", plan_id)
        return _detail("Failed to get plan subscribers", 500)
    more = page.offset + len(page.items) < page.total
    return _subscribers_answer(
        plan_id, status, page.items, page.total, page.page, page.page_size, more
    )


def _subscribers_answer(plan_id, status, items, total, page, page_size, more):
    last = items[-1] if items else None
    next_cursor = (
        encode_cursor(Cursor(plan_id, status, last.subscribed_at, last.subscription_id))
        if more and last is not None
        else None
    )
    return jsonify(
        items=[row.as_api() for row in items],
        total=total,
        page=page,
        page_size=page_size,
        total_pages=max(1, math.ceil(total / page_size)),
        next_cursor=next_cursor,
    )
