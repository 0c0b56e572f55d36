"""One exported value: text that cannot run as a formula, and times in the admin's time zone.

Callers pass the zone of the page (formatting.py ``display_zone()``: Flask-Babel's
``get_timezone()``, the admin's own zone, else ``DISPLAY_TIMEZONE``); never a fixed UTC.
"""

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal

from billing_admin.zones import moment

# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"): = + - @, and the
# full-width and small forms Excel folds into them (＝＋－＠, ﹦﹢﹣﹫).
FORMULA_STARTS = frozenset("=+-@＝＋－＠﹦﹢﹣﹫")
# Russian Excel splits a CSV line on ";" (its list separator): each such part is a cell there.
LIST_SEPARATOR = ";"

Kind = Literal["text", "time", "number", "bool"]


@dataclass(frozen=True)
class Column:
    """A column of an export: its header (machine words, the same in every language) and what
    its values are: ``text`` (str), ``time`` (Unix seconds or None), ``number`` (int or
    Decimal), ``bool``."""

    header: str
    kind: Kind = "text"


def _runs(part: str) -> bool:
    # Leading spaces, tabs and line breaks are skipped by spreadsheets before the "=".
    return part.lstrip()[:1] in FORMULA_STARTS


def neutralise(text: str) -> str:
    """``text`` with an apostrophe before every part a spreadsheet would run as a formula: the
    whole cell (``=1+2`` → ``'=1+2``, also after leading white space or a line break, and for
    full-width ``＝``), and each ``;``-separated part (``Ivan;=HYPERLINK(...)`` →
    ``Ivan;'=HYPERLINK(...)``), since Russian Excel makes each part a cell of its own.
    Anything else is unchanged (``a=b``). Source: issue 16; OWASP's advice on CSV injection."""
    if not any(_runs(part) for part in text.split(LIST_SEPARATOR)):
        return text
    return LIST_SEPARATOR.join(
        "'" + part if _runs(part) else part for part in text.split(LIST_SEPARATOR)
    )


def zone_name(zone: tzinfo) -> str:
    """ "Europe/Moscow", or "UTC"."""
    return getattr(zone, "key", None) or getattr(zone, "zone", None) or str(zone)


def iso_time(epoch: int | None, zone: tzinfo) -> str:
    """Unix seconds as ISO 8601 with the zone's offset: 1767220200 in Europe/Moscow →
    ``2026-01-01T01:30:00+03:00``; None → ""."""
    if epoch is None:
        return ""
    return moment(epoch, zone).isoformat(timespec="seconds")


def local_time(epoch: int, zone: tzinfo) -> datetime:
    """Unix seconds as the zone's wall-clock time, without a zone (what a spreadsheet's date
    cell can hold): 1767220200 in Europe/Moscow → 2026-01-01 01:30:00."""
    return moment(epoch, zone).replace(tzinfo=None)


def csv_value(value: Any, kind: Kind, zone: tzinfo) -> str:
    """A value as its CSV cell: text neutralised, times ISO 8601 with offset, booleans
    ``true``/``false``, None empty."""
    if value is None:
        return ""
    if kind == "time":
        return iso_time(int(value), zone)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "number":
        return str(value)
    return neutralise(str(value))
