"""One subscription's page, one user's page, and the actions on a subscription (issue 13).

Thin: parse, call subscriptions/actions.py or service.py, render. Each action is a page in
three steps: the form (inputs, if the action has any, and the version the admin saw), the
confirmation (the service's dry run: what will change, old → new), and the POST that confirms.
A stale version shows the conflict with the subscription as it is now (409); a refusal shows
beside its field, with what was typed kept (422), or above the form when it is about the
subscription itself (409).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from flask_login import current_user

from billing_admin.audit.service import Actor
from billing_admin.clock import now_epoch
from billing_admin.forms import keeps_input
from billing_admin.parsing import whole_number
from billing_admin.subscriptions import actions, service
from billing_admin.subscriptions.forms import ActionForm, ChangePlanForm, ExtendForm
from billing_admin.subscriptions.labels import TEMPLATE_FILTERS, change_rows

bp = Blueprint("subscriptions", __name__, url_prefix="/admin")
for _name, _filter in TEMPLATE_FILTERS.items():
    bp.add_app_template_filter(_filter, _name)


@dataclass(frozen=True)
class ActionPage:
    """One action's page: its URL slug and endpoint, the audit action naming it in
    ``actions.refusals``, its words, its form, and how it calls the service."""

    slug: str
    endpoint: str
    audit_action: str
    title: Any
    button: Any
    form: type[ActionForm]
    run: Callable[..., actions.ActionResult]
    done: Any
    danger: bool = False


def _change_plan(subscription_id, form, **kwargs):
    # The confirmation names the price reviewed; a review is of the price there is now.
    reviewed = None if kwargs["dry_run"] else whole_number(form.reviewed_price_id.data)
    return actions.change_plan(
        subscription_id,
        form.plan_id.data or "",
        allow_inactive=bool(form.allow_inactive.data),
        expected_price_id=reviewed,
        **kwargs,
    )


def _extend(subscription_id, form, **kwargs):
    typed = (form.days.data or "").strip()
    days = whole_number(typed)
    # Whatever was typed goes to the service, which says what it accepts (1–366, whole).
    return actions.extend_period(subscription_id, days if days is not None else typed, **kwargs)


def _simple(function):
    return lambda subscription_id, form, **kwargs: function(subscription_id, **kwargs)


ACTION_PAGES = (
    ActionPage(
        "change-plan",
        "change_plan",
        "subscription_plan_changed",
        lazy_gettext("Change plan"),
        lazy_gettext("Change the plan"),
        ChangePlanForm,
        _change_plan,
        lazy_gettext("Plan changed."),
    ),
    ActionPage(
        "extend",
        "extend",
        "subscription_extended",
        lazy_gettext("Extend the current period"),
        lazy_gettext("Extend the period"),
        ExtendForm,
        _extend,
        lazy_gettext("Period extended."),
    ),
    ActionPage(
        "pause",
        "pause",
        "subscription_paused",
        lazy_gettext("Pause"),
        lazy_gettext("Pause the subscription"),
        ActionForm,
        _simple(actions.pause),
        lazy_gettext("Subscription paused."),
    ),
    ActionPage(
        "resume",
        "unpause",
        "subscription_unpaused",
        lazy_gettext("Resume"),
        lazy_gettext("Resume the subscription"),
        ActionForm,
        _simple(actions.unpause),
        lazy_gettext("Subscription resumed."),
    ),
    ActionPage(
        "cancel-at-period-end",
        "cancel_at_period_end",
        "subscription_cancel_scheduled",
        lazy_gettext("Cancel at period end"),
        lazy_gettext("Cancel at the end of the period"),
        ActionForm,
        _simple(actions.cancel_at_period_end),
        lazy_gettext("The subscription will cancel at the end of its period."),
        danger=True,
    ),
    ActionPage(
        "resume-renewal",
        "resume_renewal",
        "subscription_renewal_resumed",
        lazy_gettext("Resume renewal"),
        lazy_gettext("Resume the renewal"),
        ActionForm,
        _simple(actions.resume_renewal),
        lazy_gettext("Renewal resumed: the subscription renews at the end of its period."),
    ),
    ActionPage(
        "cancel",
        "cancel_now",
        "subscription_canceled",
        lazy_gettext("Cancel now"),
        lazy_gettext("Cancel the subscription now"),
        ActionForm,
        _simple(actions.cancel_now),
        lazy_gettext("Subscription canceled."),
        danger=True,
    ),
)


def _actor() -> Actor:
    return Actor.for_user(current_user)


def _details_or_404(subscription_id: str) -> service.SubscriptionDetails:
    try:
        return service.subscription_details(subscription_id)
    except actions.SubscriptionNotFound as exc:
        abort(404, str(exc))


@bp.get("/subscriptions/<subscription_id>")
def detail(subscription_id: str):
    details = _details_or_404(subscription_id)
    refusals = actions.refusals(details.subscription)
    return render_template(
        "subscriptions/detail.html",
        details=details,
        action_pages=[page for page in ACTION_PAGES if refusals[page.audit_action] is None],
        now=now_epoch(),
    )


@bp.get("/users/<user_id>")
def user(user_id: str):
    try:
        found, subscriptions = service.user_subscriptions(user_id)
    except service.UserNotFound as exc:
        abort(404, str(exc))
    return render_template(
        "subscriptions/user.html", user=found, subscriptions=subscriptions, now=now_epoch()
    )


def _action_view(page: ActionPage):
    def view(subscription_id: str):
        details = _details_or_404(subscription_id)
        form = page.form()
        if isinstance(form, ChangePlanForm):
            form.offer(service.plan_choices(), details.subscription.plan_id)
        if request.method == "GET":
            seen = whole_number(request.args.get("version"))
            form.version.data = str(seen if seen is not None else details.subscription.version)
        state = _Step(page, details, form)
        refusal = actions.refusals(details.subscription)[page.audit_action]
        if request.method == "GET" and refusal is not None:
            state.refuse(str(refusal))  # whatever would be typed: say so now
        elif request.method == "GET" and page.form is ActionForm:
            state.review()  # nothing to type: straight to what will change
        elif request.method == "POST" and form.validate_on_submit():
            if request.form.get("confirm") == "1" and form.confirmable():
                result = state.act()
                if result is not None:
                    flash(str(page.done), "success")
                    return redirect(
                        url_for("subscriptions.detail", subscription_id=subscription_id)
                    )
            else:
                state.review()
        elif request.method == "POST":  # the CSRF check failed (an expired page): nothing done
            state.status = 422
        return state.render()

    view.__name__ = page.endpoint
    return keeps_input(view)


class _Step:
    """Where one request of an action page ends up: the form, the confirmation, a conflict,
    or a refusal."""

    def __init__(self, page: ActionPage, details: service.SubscriptionDetails, form: ActionForm):
        self.page, self.details, self.form = page, details, form
        self.preview: actions.ActionResult | None = None
        self.conflict: actions.StaleSubscription | None = None
        self.refusal: str | None = None
        self.status = 200

    def _call(self, dry_run: bool) -> actions.ActionResult | None:
        version = whole_number(self.form.version.data)
        try:
            return self.page.run(
                self.details.subscription.id,
                self.form,
                expected_version=version,
                actor=_actor(),
                dry_run=dry_run,
            )
        except actions.StaleSubscription as exc:
            self.conflict, self.status = exc, 409
            # Acting again now acts on what is stored now, after a fresh confirmation.
            self.form.version.data = str(exc.subscription.version)
            self.details = service.subscription_details(self.details.subscription.id)
            # What changed may be why the action no longer applies: say so, offer no review.
            refusal = actions.refusals(self.details.subscription)[self.page.audit_action]
            if refusal is not None:
                self.refusal = str(refusal)
        except actions.PriceChanged as exc:
            self.review()  # the change at the price there is now, to confirm again
            self.refusal, self.status = str(exc), 409
        except actions.ActionRefused as exc:
            if self.form.show_refusal(exc.field, str(exc)):
                self.status = 422
            else:
                self.refusal, self.status = str(exc), 409
        except actions.SubscriptionNotFound as exc:
            abort(404, str(exc))
        return None

    def refuse(self, message: str) -> None:
        self.refusal, self.status = message, 409

    def review(self) -> None:
        self.preview = self._call(dry_run=True)
        if self.preview is not None:
            self.form.reviewed(self.preview)

    def act(self) -> actions.ActionResult | None:
        return self._call(dry_run=False)

    def render(self):
        preview = self.preview
        return (
            render_template(
                "subscriptions/action.html",
                page=self.page,
                details=self.details,
                form=self.form,
                preview=preview,
                preview_rows=change_rows(preview.changes, preview.prices) if preview else [],
                conflict=self.conflict,
                refusal=self.refusal,
                now=now_epoch(),
            ),
            self.status,
        )


for _page in ACTION_PAGES:
    bp.add_url_rule(
        f"/subscriptions/<subscription_id>/{_page.slug}",
        endpoint=_page.endpoint,
        view_func=_action_view(_page),
        methods=["GET", "POST"],
    )
