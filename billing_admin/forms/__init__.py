"""What every form of the app shares (docs/forms.md): the base class ``Form`` and the
``keeps_input`` mark of views that render their form again from what was posted.

- **A form never loses what was typed to an expired page.** The CSRF check (Flask-WTF's
  ``CSRFProtect``, before every view) refuses a token that expired or belongs to an earlier
  session (the admin signed in again in another tab). For a view marked ``keeps_input`` the error
  handler (errors/handlers.py) then runs the view again on the same request: its form's own CSRF
  check fails too, which ``Form`` turns into a form-level message ("submit again"), so the view
  renders the form with every posted value and a fresh token, having written nothing. Other POSTs
  (one-button actions) go back to the page they came from, saying nothing was done.
- **A submission is used once** (forms/once.py): each form carries a one-time token.
- **An invalid submit says so**: the error summary macro (templates/_macros/forms.html) lists the
  errors of every ``Form`` of the page, and ``page_has_errors`` prefixes the page's title.
"""

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField

View = TypeVar("View", bound=Callable[..., Any])

SUBMISSION_FIELD = "submission_token"
CSRF_EXPIRED_FORM = lazy_gettext(
    "This page had expired (or you signed in again elsewhere), so nothing was saved. What you "
    "typed is still here: check it and submit again."
)
# Hidden fields are not the admin's to correct: their errors are not listed in the summary.
HIDDEN_TYPES = frozenset({"CSRFTokenField", "HiddenField"})


def new_submission_token() -> str:
    """128 random bits, URL-safe: one per rendering of a form (forms/once.py)."""
    return secrets.token_urlsafe(16)


def counted(limit: int, **render_kw: Any) -> dict[str, Any]:
    """``render_kw`` of a text field limited to ``limit`` characters: a live count of them
    (static/js/forms.js), no ``maxlength`` (a browser cuts pasted text there without a word;
    the server refuses text over the limit with a message by the field)."""
    return {
        "data-maxlength": limit,
        "data-count-template": lazy_gettext("%(count)s of %(max)s characters"),
        "data-over-template": lazy_gettext("Too long by %(count)s: shorten it before saving."),
        **render_kw,
    }


def keeps_input(view: View) -> View:
    """Marks a view whose POST is handled only through ``form.validate_on_submit()`` of a
    ``Form``, so running it again after a failed CSRF check renders the form with what was
    posted and cannot act (tests/test_forms_csrf.py walks the URL map: every POST endpoint is
    either marked or a one-button action)."""
    view.keeps_input = True  # type: ignore[attr-defined]
    return view


class Form(FlaskForm):
    """The base of every form the app renders.

    ``expired_message`` is what the form says when its CSRF token was refused; the sign-in form
    says it its own way (the password is never shown again). ``one_time`` forms carry a
    submission token (forms/once.py); the sign-in steps do not: each of their answers sets the
    browser's cookies, which a replayed answer would not."""

    expired_message: Any = CSRF_EXPIRED_FORM
    # The error summary's first line; None for a form whose errors are about the attempt
    # rather than fields to correct (the sign-in steps): the summary is then its messages.
    summary_title: Any = lazy_gettext(
        "The form was not saved: please correct what is marked below."
    )
    one_time = True

    submission_token = HiddenField(default=new_submission_token)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not self.one_time:
            del self[SUBMISSION_FIELD]
        elif not self.submission_token.data:
            self.submission_token.data = new_submission_token()
        g.setdefault("forms", []).append(self)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        csrf_field = getattr(self, "csrf_token", None)
        if self.meta.csrf and csrf_field is not None and csrf_field.errors:
            # The page expired or belongs to an earlier session: one message for the form, none
            # beside a hidden field; the token rendered again is a fresh one.
            csrf_field.errors = []
            self.form_errors.append(str(self.expired_message))
            return False
        return valid

    def add_form_error(self, message: str | None) -> None:
        """A message about the whole form (a failed sign-in, a save someone else overtook)."""
        if message and message not in self.form_errors:
            self.form_errors.append(message)

    @property
    def fields_with_errors(self) -> list[Any]:
        return [f for f in self if f.errors and f.type not in HIDDEN_TYPES]

    @property
    def has_errors(self) -> bool:
        return bool(self.form_errors or self.fields_with_errors)


def page_has_errors() -> bool:
    """Whether a form of this page has errors to show (the title says "Error:")."""
    return any(form.has_errors for form in g.get("forms", ()))
