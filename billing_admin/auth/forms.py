from flask_babel import lazy_gettext
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from billing_admin.auth.passwords import MAX_PASSWORD_LENGTH
from billing_admin.forms import Form


class LoginForm(Form):
    one_time = False  # the sign-in steps set cookies: forms/once.py
    summary_title = None
    expired_message = lazy_gettext(
        "This page had expired, so you were not signed in. Enter your password again and sign in."
    )

    email = EmailField(lazy_gettext("Email"), validators=[DataRequired(), Length(max=255)])
    password = PasswordField(
        lazy_gettext("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )


class CodeForm(Form):
    """A code from the authenticator app (six digits) or a recovery code."""

    one_time = False
    summary_title = None

    code = StringField(
        lazy_gettext("Code"),
        validators=[DataRequired(), Length(max=64)],
        description=lazy_gettext(
            "The six digits your authenticator app shows, or one of your recovery codes."
        ),
    )


class NewPasswordForm(Form):
    one_time = False

    password = PasswordField(
        lazy_gettext("New password"),
        validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
        description=lazy_gettext(
            "At least 12 characters, hard to guess: a few unrelated words work well."
        ),
    )
    confirm = PasswordField(
        lazy_gettext("New password again"),
        validators=[
            DataRequired(),
            EqualTo("password", message=lazy_gettext("The two passwords are not the same.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    one_time = True
    current = PasswordField(
        lazy_gettext("Current password"),
        validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
    )
