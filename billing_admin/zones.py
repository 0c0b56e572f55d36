"""Time zones: which names are accepted, and where an admin's days begin (issue 16, "Time").

Times are stored as Unix seconds (UTC) and shown in a zone: the signed-in admin's own choice
(``admin_account.time_zone``), else the app's ``DISPLAY_TIMEZONE`` (UTC by default). The zone is
looked up by its IANA name (``Europe/Moscow``) in the tz database through :mod:`zoneinfo`; no
offset is ever written by hand, so daylight saving time follows the database.

A name is accepted when both :mod:`zoneinfo` and pytz know it: Flask-Babel's
``get_timezone()`` (which other code reads) builds a pytz zone from the name, so a name only one
of them knows would fail there. Lookups are case-insensitive and give the database's spelling
(``europe/moscow`` → ``Europe/Moscow``).

No Flask here: the configuration, the services and the formatting all use it.
"""

import functools
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, available_timezones

import pytz

DEFAULT_ZONE = "UTC"
# Names a person would choose among: the tz database's, without the "Factory" placeholder and
# the machine's "localtime" (neither is a place). ~600 names.
ZONE_NAMES: tuple[str, ...] = tuple(
    sorted(available_timezones() & set(pytz.all_timezones) - {"Factory", "localtime"})
)
_NAMES = frozenset(ZONE_NAMES)
_BY_FOLDED_NAME = {name.casefold(): name for name in ZONE_NAMES}


def zone_name(text: str | None) -> str | None:
    """The tz database's spelling of ``text`` (surrounding spaces and case ignored), or None
    when it names no zone: ``" europe/moscow "`` → ``"Europe/Moscow"``; ``"Moscow"`` → None."""
    if not text:
        return None
    return _BY_FOLDED_NAME.get(text.strip().casefold())


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The zone called ``name`` (one of ``ZONE_NAMES``); KeyError for another name."""
    if name not in _NAMES:
        raise KeyError(name)
    return ZoneInfo(name)


# The Unix seconds that can be shown in every zone: a day inside the years 1–9999 that datetime
# holds (a zone moves a moment by less than a day). The app never stores a time outside them
# (subscriptions/actions.py refuses to), but the platform or psql may: such a time is shown as
# the nearest one inside, never an error (a "forever" end at 9999-12-31 23:59:59 UTC shows as
# 30 Dec 9999 in UTC).
FIRST_SHOWN = int(datetime(1, 1, 2, tzinfo=UTC).timestamp())
LAST_SHOWN = int(datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC).timestamp())


def shown_epoch(epoch: int) -> int:
    """``epoch`` moved inside ``FIRST_SHOWN``–``LAST_SHOWN`` (Unix seconds)."""
    return min(max(epoch, FIRST_SHOWN), LAST_SHOWN)


def moment(epoch: int, where: tzinfo) -> datetime:
    """Unix seconds as an aware datetime in zone ``where`` (``shown_epoch`` first)."""
    return datetime.fromtimestamp(shown_epoch(epoch), where)


def local_date(epoch: int, where: tzinfo) -> date:
    """The calendar date at Unix second ``epoch`` in zone ``where``."""
    return moment(epoch, where).date()


def day_start(day: date, where: tzinfo) -> int:
    """Unix seconds of the first moment of calendar day ``day`` in zone ``where``: its midnight,
    or, where a daylight saving change skips midnight (America/Santiago in September), the
    first moment after the gap, since midnight is then read with the offset before it."""
    return int(datetime.combine(day, time(0), tzinfo=where).timestamp())


def days_back_start(now: int, days: int, where: tzinfo) -> int:
    """Unix seconds of the midnight ``days`` calendar days before today (the day holding
    ``now``) in zone ``where``; 0 days: today's midnight. A day there is 23 or 25 hours long
    across a daylight saving change, so this is not ``now - days × 86,400``."""
    return day_start(local_date(now, where) - timedelta(days=days), where)


def utc_offset(epoch: int, where: tzinfo) -> timedelta:
    """The zone's offset from UTC at that moment (it changes with daylight saving time)."""
    return moment(epoch, UTC).astimezone(where).utcoffset() or timedelta(0)
