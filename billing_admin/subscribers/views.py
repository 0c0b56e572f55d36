"""A plan's subscribers in the browser: the paginated table and its CSV export."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request, stream_with_context

from billing_admin.clock import now_epoch
from billing_admin.models import SUBSCRIPTION_STATUSES
from billing_admin.pagination import PAGE_SIZE_CHOICES
from billing_admin.plans.errors import PlanNotFound
from billing_admin.plans.service import get_plan
from billing_admin.subscribers.service import (
    API_FIELDS,
    SubscriberFilter,
    SubscriberRow,
    iter_subscribers,
    subscribers_page,
)

bp = Blueprint("subscribers", __name__, url_prefix="/admin/plans")

CSV_HEADER = (*API_FIELDS, "cancel_at_period_end")


def _filter_args() -> tuple[str | None, str | None]:
    """Status and search from the query string; an unknown status shows every status."""
    status = request.args.get("status") or None
    if status not in SUBSCRIPTION_STATUSES:
        status = None
    return status, request.args.get("q") or None


@bp.get("/<plan_id>/subscribers")
def index(plan_id: str):
    status, search = _filter_args()
    try:
        page = subscribers_page(
            plan_id,
            page=request.args.get("page"),
            page_size=request.args.get("page_size"),
            status=status,
            search=search,
        )
    except PlanNotFound as exc:
        abort(404, str(exc))
    filters = {k: v for k, v in {"status": status, "q": search}.items() if v}
    return render_template(
        "subscribers/list.html",
        plan=get_plan(plan_id),
        page=page,
        filters=filters,
        link_args={"plan_id": plan_id, **filters, "page_size": page.page_size},
        statuses=SUBSCRIPTION_STATUSES,
        page_sizes=PAGE_SIZE_CHOICES,
        now=now_epoch(),
    )


@bp.get("/<plan_id>/subscribers.csv")
def export_csv(plan_id: str):
    status, search = _filter_args()
    try:
        get_plan(plan_id)
    except PlanNotFound as exc:
        abort(404, str(exc))
    filters = SubscriberFilter.parse(plan_id, status, search)
    day = datetime.fromtimestamp(now_epoch(), UTC).strftime("%Y-%m-%d")
    return Response(
        stream_with_context(_csv_lines(iter_subscribers(filters))),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{plan_id}-subscribers-{day}.csv"'},
    )


def _csv_lines(rows: Iterator[SubscriberRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield flush()
    for row in rows:
        writer.writerow(
            (
                row.user_id,
                _cell(row.email),
                _cell(row.name),
                row.status,
                row.subscribed_at,
                row.current_period_end,
                "true" if row.cancel_at_period_end else "false",
            )
        )
        yield flush()


def _cell(text: str) -> str:
    """Text that a spreadsheet would run as a formula ("=...", "+...", "-...", "@...") is
    prefixed with an apostrophe (OWASP's advice on CSV injection): names come from users."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
