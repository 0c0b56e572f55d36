"""The account page's own forms (the password form is auth/forms.py's, shared with the first
sign-in)."""

from typing import Any

from flask_babel import gettext, lazy_gettext
from wtforms import StringField
from wtforms.validators import ValidationError

from billing_admin.bidi import isolate
from billing_admin.forms import Form
from billing_admin.zones import zone_name


class TimeZoneForm(Form):
    """The zone the admin's pages show times in: an IANA name typed or picked from the list
    (a ``<datalist>`` of ``zones.ZONE_NAMES``), any case; empty for the app's default
    (``DISPLAY_TIMEZONE``). ``data["time_zone"]`` is then the tz database's spelling, or None."""

    time_zone = StringField(
        lazy_gettext("Time zone"),
        filters=[lambda text: text.strip() if isinstance(text, str) else text],
    )

    def __init__(self, *args: Any, default_zone: str = "UTC", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.time_zone.description = gettext(
            "A place name from the list, such as Europe/Moscow or America/New_York. Leave it "
            "empty for the site's default, %(zone)s.",
            zone=default_zone,
        )

    def validate_time_zone(self, field: StringField) -> None:
        if field.data and zone_name(field.data) is None:
            raise ValidationError(
                gettext(
                    "“%(name)s” is not a time zone name. Choose one from the list: a region "
                    "and a city, such as Europe/Moscow, or UTC.",
                    name=isolate(field.data[:64]),
                )
            )

    @property
    def chosen_zone(self) -> str | None:
        return zone_name(self.time_zone.data)
