from flask import Blueprint, render_template, request

from billing_admin.audit.labels import kind_label, reason_label
from billing_admin.audit.queries import KINDS, AuditFilters, audit_actors, audit_page
from billing_admin.audit.verification import latest_verification
from billing_admin.models.audit import PLAN_ACTIONS, SECURITY_ACTIONS, SUBSCRIPTION_ACTIONS
from billing_admin.pagination import PAGE_SIZE_CHOICES, normalise_paging

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
bp.add_app_template_filter(reason_label, "audit_reason_label")
bp.add_app_template_filter(kind_label, "audit_kind_label")


@bp.get("")
def index():
    filters = AuditFilters.from_args(request.args)
    page, page_size = normalise_paging(request.args.get("page"), request.args.get("page_size"))
    return render_template(
        "audit/list.html",
        entries=audit_page(filters, page, page_size),
        filters=filters,
        action_groups=(
            ("plans", PLAN_ACTIONS),
            ("subscriptions", SUBSCRIPTION_ACTIONS),
            ("security", SECURITY_ACTIONS),
        ),
        kinds=("", *KINDS),
        actors=audit_actors(),
        page_sizes=PAGE_SIZE_CHOICES,
        verification=latest_verification(),
    )
