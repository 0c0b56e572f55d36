from flask_babel import lazy_gettext
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from billing_admin.forms import Form

ROLE_LABELS = {"admin": lazy_gettext("Admin"), "viewer": lazy_gettext("Viewer")}
ROLE_CHOICES = list(ROLE_LABELS.items())  # (value, label), for the role selects of the list


class NewAccountForm(Form):
    email = EmailField(lazy_gettext("Email"), validators=[DataRequired(), Length(max=255)])
    name = StringField(
        lazy_gettext("Name"),
        validators=[Length(max=255)],
        description=lazy_gettext("Optional: the part of the email before @ if left empty."),
    )
    role = SelectField(
        lazy_gettext("Role"),
        choices=[SelectChoice(value, label) for value, label in ROLE_LABELS.items()],
        default="viewer",
        description=lazy_gettext(
            "Admins may change everything; viewers may read every page and export, nothing more."
        ),
    )
