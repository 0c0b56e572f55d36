"""Plan pages. Thin: parse the request, call plans/service.py, render or redirect."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user

from billing_admin.audit.service import Actor
from billing_admin.auth.redirects import safe_next
from billing_admin.background import run_in_background
from billing_admin.formatting import display_zone, grouped
from billing_admin.forms import keeps_input
from billing_admin.parsing import whole_number
from billing_admin.plans import price_moves, service
from billing_admin.plans.forms import PlanForm
from billing_admin.plans.labels import TEMPLATE_FILTERS
from billing_admin.plans.rules import PlanRuleError
from billing_admin.plans.spec import diff_values, plan_values
from billing_admin.plans.validation import PlanValidationError
from billing_admin.reporting.charts import trend_chart
from billing_admin.reporting.trend import weekly_trend

bp = Blueprint("plans", __name__, url_prefix="/admin/plans")
# Labels of plan vocabularies (field names, intervals, filters, audit actions), for every page.
for _name, _label in TEMPLATE_FILTERS.items():
    bp.add_app_template_filter(_label, _name)


def _actor() -> Actor:
    return Actor.for_user(current_user)


def _plan_or_404(plan_id: str):
    try:
        return service.get_plan(plan_id)
    except service.PlanNotFound as exc:
        abort(404, str(exc))


@bp.get("")
def index():
    """The plan list: a status filter, a search by name or id, an order (``sort``, ``-sort``
    for the reverse). A search or order the list cannot use answers 400 with the message by
    its field, the typed value kept, and the plans in display order."""
    args = request.args
    errors: dict[str, str] = {}
    try:
        query = service.plan_list_query(args.get("status"), args.get("q"), args.get("sort"))
    except service.PlanListArgumentError as exc:
        errors[exc.field] = str(exc)
        query = service.PlanListQuery(status=args.get("status", "all"))
        if query.status not in service.STATUS_FILTERS:
            query = service.PlanListQuery()
    return (
        render_template(
            "plans/list.html",
            summaries=service.plan_list(query),
            query=query,
            status=query.status,
            status_filters=service.STATUS_FILTERS,
            sorts=service.PLAN_SORTS,
            typed={"q": args.get("q", ""), "sort": args.get("sort", "")},
            errors=errors,
        ),
        400 if errors else 200,
    )


@bp.get("/<plan_id>")
def detail(plan_id: str):
    _plan_or_404(plan_id)
    move = price_moves.running_move(plan_id)
    prices = service.price_history(plan_id)
    movable = [
        entry
        for entry in prices
        if not entry.price.is_current
        and any(entry.counts[status] for status in price_moves.MOVED_STATUSES)
    ]
    return render_template(
        "plans/detail.html",
        summary=service.plan_summary(plan_id),
        trend_chart=trend_chart(
            weekly_trend(plan_id=plan_id, where=display_zone()), id="chart-plan-trend"
        ),
        prices=prices,
        move=move,
        move_stale=move is not None and price_moves.is_stale(move),
        movable_statuses=price_moves.MOVED_STATUSES,
        movable_prices=movable,
        # A link a row only when there is a choice of which older price to move from.
        per_price_moves=len(movable) > 1 and move is None,
        history=service.plan_history(plan_id),
        deletion_refusal=service.deletion_refusal(plan_id),
    )


@bp.route("/<plan_id>/prices/move", methods=["GET", "POST"])
def move_to_current_price(plan_id: str):
    """Preview moving subscriptions from older prices to the current one; a POST with the
    preview's fingerprint starts the move (in the background) and goes back to the plan page,
    which shows its progress."""
    _plan_or_404(plan_id)
    from_price = request.values.get("from_price") or None
    from_price_id = whole_number(from_price) if from_price is not None else None
    if from_price is not None and (from_price_id is None or from_price_id < 1):
        abort(404, gettext("Price '%(price)s' not found.", price=from_price))
    try:
        preview = price_moves.preview_move(plan_id, from_price_id)
    except price_moves.UnknownPrice as exc:
        abort(404, str(exc))
    notice = None
    status = 200
    if request.method == "POST":
        try:
            move = price_moves.start_move(
                plan_id,
                from_price_id=from_price_id,
                fingerprint=request.form.get("fingerprint", ""),
                actor=_actor(),
            )
        except price_moves.PreviewChanged as exc:
            preview, status = exc.preview, 409
            notice = gettext(
                "The numbers changed since you looked (a subscription started, changed or "
                "ended). Here they are again: check them, then confirm."
            )
        except price_moves.MoveInProgress:
            flash(gettext("A move of this plan's subscriptions is already under way."), "info")
            return redirect(url_for("plans.detail", plan_id=plan_id, _anchor="prices"), 303)
        except price_moves.MoveError as exc:
            notice, status = str(exc), 409
        else:
            _run_move(move.id)
            flash(
                ngettext(
                    "Moving %(count)s subscription to the current price: its progress shows here.",
                    "Moving %(count)s subscriptions to the current price: their progress shows "
                    "here.",
                    move.expected_total,
                    count=grouped(move.expected_total),
                ),
                "success",
            )
            return redirect(url_for("plans.detail", plan_id=plan_id, _anchor="prices"), 303)
    return (
        render_template(
            "plans/move_price.html",
            plan=service.get_plan(plan_id),
            preview=preview,
            from_price_id=from_price_id,
            running=price_moves.running_move(plan_id),
            notice=notice,
        ),
        status,
    )


@bp.post("/<plan_id>/prices/moves/<int:move_id>/continue")
def continue_move(plan_id: str, move_id: int):
    """Continue a move whose runner stopped (a restart): it picks up where it left off."""
    _plan_or_404(plan_id)
    move = price_moves.running_move(plan_id)
    if move is None or move.id != move_id:
        flash(gettext("That move has finished."), "info")
    elif not price_moves.is_stale(move):
        flash(gettext("That move is still running."), "info")
    else:
        _run_move(move.id)
        flash(gettext("The move continues where it stopped."), "success")
    return redirect(url_for("plans.detail", plan_id=plan_id, _anchor="prices"), 303)


def _run_move(move_id: int) -> None:
    run_in_background(f"price-move-{move_id}", lambda: price_moves.run_move(move_id))


@bp.route("/new", methods=["GET", "POST"])
@keeps_input
def new():
    form = PlanForm()
    form_error = None
    if form.validate_on_submit():
        spec = form.to_spec()
        if spec is not None:
            try:
                plan = service.create_plan(spec, _actor())
            except PlanValidationError as exc:
                form_error = _first(form.show_service_errors(exc.errors))
            else:
                flash(gettext("Plan '%(id)s' created.", id=plan.id), "success")
                return redirect(url_for("plans.detail", plan_id=plan.id))
    return _render_form(form, plan=None, form_error=form_error)


@bp.route("/<plan_id>/edit", methods=["GET", "POST"])
@keeps_input
def edit(plan_id: str):
    plan = _plan_or_404(plan_id)
    form = PlanForm()
    form_error = price_warning = stale = None
    if request.method == "GET":
        form.fill_from(service.spec_of(plan), plan.version)
    elif form.validate_on_submit():
        spec = form.to_spec(plan_id=plan_id)
        expected_version = whole_number(form.version.data)
        if spec is not None and expected_version is None:
            form_error = gettext("The form is missing the plan's version: reload the page.")
        elif spec is not None:
            try:
                changes = service.update_plan(
                    plan_id,
                    spec,
                    expected_version=expected_version,
                    actor=_actor(),
                    confirmed_price=request.form.get("confirm_price_change"),
                )
            except PlanValidationError as exc:
                form_error = _first(form.show_service_errors(exc.errors))
            except PlanRuleError as exc:
                form.show_rule_error(exc)
            except service.PriceChangeNeedsConfirmation as exc:
                price_warning = exc
            except service.StaleEdit as exc:
                stale = _stale_comparison(exc.plan, spec)
                form_error = str(exc) + "."
                # Their values are shown beside yours; saving again now overwrites them.
                form.version.data = str(exc.plan.version)
            else:
                if changes:
                    flash(gettext("Plan '%(id)s' saved.", id=plan_id), "success")
                else:
                    flash(gettext("No changes to save."), "info")
                return redirect(url_for("plans.detail", plan_id=plan_id))
    return _render_form(
        form, plan=plan, form_error=form_error, price_warning=price_warning, stale=stale
    )


@bp.post("/<plan_id>/activate")
def activate(plan_id: str):
    return _set_active(plan_id, True)


@bp.post("/<plan_id>/deactivate")
def deactivate(plan_id: str):
    return _set_active(plan_id, False)


def _set_active(plan_id: str, active: bool):
    _plan_or_404(plan_id)
    changed = service.set_plan_active(plan_id, active, _actor())
    if active:
        message = (
            gettext("Plan '%(id)s' activated.", id=plan_id)
            if changed
            else gettext("Plan '%(id)s' was already activated.", id=plan_id)
        )
    else:
        message = (
            gettext("Plan '%(id)s' deactivated.", id=plan_id)
            if changed
            else gettext("Plan '%(id)s' was already deactivated.", id=plan_id)
        )
    flash(message, "success")
    return redirect(_back_to(url_for("plans.detail", plan_id=plan_id)))


@bp.post("/<plan_id>/duplicate")
def duplicate(plan_id: str):
    _plan_or_404(plan_id)
    try:
        copy = service.duplicate_plan(plan_id, _actor())
    except PlanValidationError as exc:
        flash(
            gettext("Plan '%(id)s' could not be duplicated: %(error)s", id=plan_id, error=str(exc)),
            "error",
        )
        return redirect(url_for("plans.detail", plan_id=plan_id))
    flash(
        gettext(
            "Plan '%(id)s' duplicated as '%(copy)s' (inactive). Review it, then activate it.",
            id=plan_id,
            copy=copy.id,
        ),
        "success",
    )
    return redirect(url_for("plans.edit", plan_id=copy.id))


@bp.route("/<plan_id>/delete", methods=["GET", "POST"])
def delete(plan_id: str):
    plan = _plan_or_404(plan_id)
    refusal = service.deletion_refusal(plan_id)
    if request.method == "POST" and refusal is None:
        try:
            service.delete_plan(plan_id, _actor())
        except service.PlanInUse as exc:
            refusal = str(exc)
        else:
            flash(gettext("Plan '%(id)s' deleted.", id=plan_id), "success")
            return redirect(url_for("plans.index"))
    status = 409 if refusal and request.method == "POST" else 200
    return render_template("plans/delete.html", plan=plan, refusal=refusal), status


def _render_form(form, *, plan, form_error=None, price_warning=None, stale=None):
    form.add_form_error(form_error)  # shown in the form's error summary
    status = 200
    if stale:
        status = 409
    elif form.has_errors:
        status = 422
    return (
        render_template(
            "plans/form.html",
            form=form,
            plan=plan,
            price_warning=price_warning,
            stale=stale,
        ),
        status,
    )


def _stale_comparison(stored, spec) -> list[tuple[str, object, object]]:
    """(field, yours, stored now) for each field where the two differ."""
    changes = diff_values(plan_values(stored), spec.values())
    return [(name, change["new"], change["old"]) for name, change in changes.items()]


def _back_to(default: str) -> str:
    return safe_next(request.form.get("next"), default)


def _first(messages: list[str]) -> str | None:
    return " ".join(messages) or None
