"""Subscribers in the browser: a plan's paginated table, the table across every plan
(/admin/subscribers, where the navigation's search box goes), and their CSV and .xlsx exports
(billing_admin/exports/: times in the admin's time zone, formulas neutralised)."""

from flask import Blueprint, abort, render_template, request

from billing_admin.clock import now_epoch
from billing_admin.exports.cells import Column
from billing_admin.exports.responses import export_response
from billing_admin.models import SUBSCRIPTION_STATUSES
from billing_admin.pagination import PAGE_SIZE_CHOICES
from billing_admin.plans.errors import PlanNotFound
from billing_admin.plans.service import get_plan
from billing_admin.subscribers.search import SEARCH_MAX
from billing_admin.subscribers.service import (
    DEFAULT_DIRECTION,
    DEFAULT_SORT,
    DIRECTIONS,
    SORTS,
    SubscriberFilter,
    SubscriberRow,
    iter_subscribers,
    plan_choices,
    subscribers_page,
)

bp = Blueprint("subscribers", __name__, url_prefix="/admin/plans")
# Every plan's subscribers: its own blueprint, as its address is not under /admin/plans.
everyone_bp = Blueprint("all_subscribers", __name__, url_prefix="/admin")

# The API's fields (API_FIELDS), whose times are Unix seconds there; exports write them in the
# admin's time zone (ISO 8601 with offset in CSV, dates in .xlsx).
EXPORT_COLUMNS = (
    Column("user_id"),
    Column("email"),
    Column("name"),
    Column("subscription_status"),
    Column("subscribed_at", "time"),
    Column("current_period_end", "time"),
    Column("cancel_at_period_end", "bool"),
)
EXPORT_COLUMNS_ALL_PLANS = (*EXPORT_COLUMNS, Column("plan_id"))


def _filter_args() -> dict[str, str]:
    """Status, search, sort and direction from the query string, as links should keep them:
    an unknown status shows every status and an unknown sort or direction is the default
    (newest subscribed first), so neither is kept; a blank search is no search."""
    args = {
        "status": request.args.get("status") or "",
        "q": (request.args.get("q") or "").strip()[:SEARCH_MAX],
        "sort": request.args.get("sort") or "",
        "direction": request.args.get("direction") or "",
    }
    if args["status"] not in SUBSCRIPTION_STATUSES:
        args["status"] = ""
    if args["sort"] not in SORTS or args["sort"] == DEFAULT_SORT:
        args["sort"] = ""
    if args["direction"] not in DIRECTIONS or args["direction"] == DEFAULT_DIRECTION:
        args["direction"] = ""
    return {key: value for key, value in args.items() if value}


def _page(plan_id: str | None, filters: dict[str, str]):
    return subscribers_page(
        plan_id,
        page=request.args.get("page"),
        page_size=request.args.get("page_size"),
        status=filters.get("status"),
        search=filters.get("q"),
        sort=filters.get("sort"),
        direction=filters.get("direction"),
    )


def _render(template: str, page, filters: dict[str, str], link_args: dict, **context):
    return render_template(
        template,
        page=page,
        filters=filters,
        link_args=link_args,
        statuses=SUBSCRIPTION_STATUSES,
        sorts=tuple(SORTS),
        sort=filters.get("sort", DEFAULT_SORT),
        direction=filters.get("direction", DEFAULT_DIRECTION),
        page_sizes=PAGE_SIZE_CHOICES,
        now=now_epoch(),
        **context,
    )


@bp.get("/<plan_id>/subscribers")
def index(plan_id: str):
    filters = _filter_args()
    try:
        page = _page(plan_id, filters)
    except PlanNotFound as exc:
        abort(404, str(exc))
    return _render(
        "subscribers/list.html",
        page,
        filters,
        {"plan_id": plan_id, **filters, "page_size": page.page_size},
        plan=get_plan(plan_id),
    )


@bp.get("/<plan_id>/subscribers.csv")
def export_csv(plan_id: str):
    return _plan_export(plan_id, "csv")


@bp.get("/<plan_id>/subscribers.xlsx")
def export_xlsx(plan_id: str):
    return _plan_export(plan_id, "xlsx")


def _plan_export(plan_id: str, file_format: str):
    filters = _filter_args()
    try:
        get_plan(plan_id)
    except PlanNotFound as exc:
        abort(404, str(exc))
    return _export(file_format, plan_id, filters, f"{plan_id}-subscribers", EXPORT_COLUMNS)


def _all_filters() -> tuple[dict[str, str], list]:
    """The page's filters with the plan's (an unknown plan shows every plan, as an unknown
    status shows every status), and the plans to choose from."""
    filters = _filter_args()
    plans = plan_choices()
    plan_id = request.args.get("plan") or ""
    if plan_id in {plan.id for plan in plans}:
        filters = {"plan": plan_id, **filters}
    return filters, plans


@everyone_bp.get("/subscribers")
def everyone():
    filters, plans = _all_filters()
    page = _page(filters.get("plan"), filters)
    return _render(
        "subscribers/all.html",
        page,
        filters,
        {**filters, "page_size": page.page_size},
        plans=plans,
        plan_names={plan.id: plan for plan in plans},
    )


@everyone_bp.get("/subscribers.csv")
def everyone_csv():
    return _everyone_export("csv")


@everyone_bp.get("/subscribers.xlsx")
def everyone_xlsx():
    return _everyone_export("xlsx")


def _everyone_export(file_format: str):
    filters, _ = _all_filters()
    plan_id = filters.get("plan")
    return _export(file_format, plan_id, filters, "subscribers", EXPORT_COLUMNS_ALL_PLANS)


def _export(file_format: str, plan_id: str | None, filters: dict[str, str], name: str, columns):
    parsed = SubscriberFilter.parse(
        plan_id,
        filters.get("status"),
        filters.get("q"),
        filters.get("sort"),
        filters.get("direction"),
    )
    with_plan = len(columns) == len(EXPORT_COLUMNS_ALL_PLANS)
    rows = (_export_row(row, with_plan) for row in iter_subscribers(parsed))
    return export_response(file_format, name, columns, rows)


def _export_row(row: SubscriberRow, with_plan: bool) -> tuple:
    cells = (
        row.user_id,
        row.email,
        row.name,
        row.status,
        row.subscribed_at,
        row.current_period_end,
        row.cancel_at_period_end,
    )
    return (*cells, row.plan_id) if with_plan else cells
