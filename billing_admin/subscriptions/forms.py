"""The forms of the actions on a subscription. They carry what the admin typed and the version
they saw; every rule is in actions.py, whose refusals come back here beside their fields."""

from flask_babel import lazy_gettext
from wtforms import BooleanField, HiddenField, SelectField, StringField

from billing_admin.formatting import plan_name
from billing_admin.forms import Form
from billing_admin.models import Plan
from billing_admin.subscriptions.actions import EXTEND_DAYS_MAX, EXTEND_DAYS_MIN


class ActionForm(Form):
    """An action without inputs (cancel, pause...): the version the admin saw."""

    version = HiddenField()

    def show_refusal(self, field: str | None, message: str) -> bool:
        """Put a refusal beside its field; False when it belongs to none of this form's."""
        target = getattr(self, field, None) if field else None
        if target is None or not hasattr(target, "errors") or field == "version":
            return False
        if isinstance(target.errors, tuple):  # WTForms makes it a tuple until validated
            target.errors = list(target.errors)
        target.errors.append(message)
        return True

    def reviewed(self, preview) -> None:
        """Keep what the confirmation must confirm from the dry run ``preview`` (an
        ActionResult), beyond what was typed: nothing, for most actions."""

    def confirmable(self) -> bool:
        """Whether a posted confirmation carries what ``reviewed`` kept (else: review first)."""
        return True


class ChangePlanForm(ActionForm):
    plan_id = SelectField(lazy_gettext("New plan"), validate_choice=False)
    allow_inactive = BooleanField(lazy_gettext("Allow an inactive plan"))
    # The new plan's price the admin reviewed: confirming at another is refused (PriceChanged).
    reviewed_price_id = HiddenField()

    def reviewed(self, preview) -> None:
        self.reviewed_price_id.data = str(preview.subscription.price_id)

    def confirmable(self) -> bool:
        return bool(self.reviewed_price_id.data)

    def offer(self, plans: list[Plan], current_plan_id: str) -> None:
        """Every other plan; inactive ones say so (choosing one needs the tick)."""
        inactive = str(lazy_gettext("inactive"))
        self.plan_id.choices = [("", str(lazy_gettext("Choose a plan…")))] + [
            (plan.id, plan_name(plan) + ("" if plan.is_active else f" ({inactive})"))
            for plan in plans
            if plan.id != current_plan_id
        ]


class ExtendForm(ActionForm):
    days = StringField(
        lazy_gettext("Days to add"),
        description=lazy_gettext(
            "A whole number from %(min)s to %(max)s.", min=EXTEND_DAYS_MIN, max=EXTEND_DAYS_MAX
        ),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
