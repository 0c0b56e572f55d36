"""The audit log in the browser (/admin/audit): entries newest first, filtered by kind, action,
plan, admin and days in the admin's time zone, and the same entries as CSV or .xlsx."""

import json

from flask import Blueprint, render_template, request

from billing_admin.audit.labels import kind_label, reason_label
from billing_admin.audit.queries import (
    KINDS,
    AuditFilters,
    audit_actors,
    audit_page,
    iter_audit,
    plan_currencies,
)
from billing_admin.audit.verification import latest_verification
from billing_admin.exports.cells import Column, zone_name
from billing_admin.exports.responses import export_response
from billing_admin.formatting import display_zone
from billing_admin.models import AuditLog
from billing_admin.models.audit import PLAN_ACTIONS, SECURITY_ACTIONS, SUBSCRIPTION_ACTIONS
from billing_admin.pagination import PAGE_SIZE_CHOICES, normalise_paging

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
bp.add_app_template_filter(reason_label, "audit_reason_label")
bp.add_app_template_filter(kind_label, "audit_kind_label")

# The entries as recorded (machine words, the same in every language: docs/i18n.md); changes
# and metadata as JSON text.
EXPORT_COLUMNS = (
    Column("id", "number"),
    Column("created_at", "time"),
    Column("actor"),
    Column("action"),
    Column("entity_type"),
    Column("entity_id"),
    Column("description"),
    Column("changes"),
    Column("metadata"),
)


@bp.get("")
def index():
    filters = AuditFilters.from_args(request.args)
    zone = display_zone()
    page, page_size = normalise_paging(request.args.get("page"), request.args.get("page_size"))
    entries = audit_page(filters, page, page_size, zone)
    return render_template(
        "audit/list.html",
        entries=entries,
        filters=filters,
        date_errors=filters.dates(zone).errors,
        # Plans still there: their ids link to their pages, their currency formats prices.
        plan_currencies=plan_currencies(_plan_ids(entries.items)),
        zone=zone_name(zone),
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


@bp.get("/export.csv")
def export_csv():
    return _export("csv")


@bp.get("/export.xlsx")
def export_xlsx():
    return _export("xlsx")


def _export(file_format: str):
    filters = AuditFilters.from_args(request.args)
    rows = (_export_row(entry) for entry in iter_audit(filters, display_zone()))
    return export_response(file_format, "audit-log", EXPORT_COLUMNS, rows)


def _plan_ids(entries: list[AuditLog]) -> set[str]:
    """The plans a page of entries names: plan entries' subjects, subscription entries' plans."""
    ids = {entry.entity_id for entry in entries if entry.entity_type == "plan"}
    for entry in entries:
        metadata = entry.audit_metadata if isinstance(entry.audit_metadata, dict) else {}
        if isinstance(metadata.get("plan_id"), str):
            ids.add(metadata["plan_id"])
    return ids


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _export_row(entry: AuditLog) -> tuple:
    return (
        entry.id,
        entry.created_at,
        entry.actor,
        entry.action,
        entry.entity_type,
        entry.entity_id,
        entry.description,
        _json(entry.changes),
        _json(entry.audit_metadata),
    )
