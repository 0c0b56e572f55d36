"""How numbers, money, dates and quotas read on the page, in the request's language (Babel).

Registered as Jinja filters. Outside a request (a command, a unit test) the locale is English.
Dates and times are shown in the page's time zone (``display_zone``: the admin's own, else
``DISPLAY_TIMEZONE``; UTC outside a request), by Babel from the tz database.
Examples, English / Russian: ``RUB 1,490.00`` / ``1 490,00 ₽``; ``Nov 21, 2026`` /
``21 нояб. 2026 г.``; ``500K`` / ``500 тыс.``; ``in 12 days`` / ``через 12 дней``.
"""

import functools
import json
import re
from copy import copy
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_datetime,
    format_skeleton,
    format_timedelta,
    get_timezone_gmt,
)
from babel.dates import get_datetime_format as babel_datetime_format
from babel.numbers import format_compact_decimal, format_currency, format_decimal
from flask import Flask, has_app_context
from flask_babel import get_locale, get_timezone, gettext, ngettext

from billing_admin.bidi import bdi, isolate
from billing_admin.clock import now_epoch
from billing_admin.i18n.locales import DEFAULT_LOCALE, LANGUAGES
from billing_admin.pagination import page_window
from billing_admin.zones import DEFAULT_ZONE, local_date, moment, shown_epoch, zone

# Parsed once: Babel looks a locale given by name up again on every call (3× slower).
DEFAULT = Locale.parse(DEFAULT_LOCALE)
NO_BREAK_SPACE = "\N{NO-BREAK SPACE}"
# CLDR's currency spacing, which Babel does not apply: a currency symbol that ends in a letter
# (an ISO code such as RUB, where the language has no sign for it) is set apart from the digits.
_CODE_BEFORE_DIGIT = re.compile(r"(?<=[^\W\d_])(?=[-−]?\d)")


def request_locale() -> Locale:
    """The language of this request (Flask-Babel), English outside one."""
    return get_locale() or DEFAULT


# A table formats a few cells a row: it looks the request's language up once
# (``{% set language = current_locale() %}``) and passes it to the filters that take
# ``language``, rather than each cell asking Flask-Babel again (a few µs each, 100 rows a page).
@functools.lru_cache(maxsize=16)
def _locale_named(name: str) -> Locale:
    return Locale.parse(name)


def _in(language: str | None) -> Locale:
    return _locale_named(language) if language else request_locale()


def grouped(number: int) -> str:
    """5000 → "5,000" / "5 000"."""
    return format_decimal(number, locale=request_locale())


def compact(number: int) -> str:
    """Token counts at a glance: 500000 → "500K" / "500 тыс.", 1500000 → "1.5M" / "1,5 млн"."""
    return format_compact_decimal(number, fraction_digits=1, locale=request_locale())


def money(amount: Decimal | int | None, currency: str = "RUB") -> str:
    """1490 → "RUB 1,490.00" / "1 490,00 ₽"; never split across lines."""
    if amount is None:
        return "—"
    text = format_currency(Decimal(amount), currency, locale=request_locale())
    return _CODE_BEFORE_DIGIT.sub(NO_BREAK_SPACE, text, count=1)


def percent(fraction: Decimal | float | None) -> str:
    """A share or a rate with one decimal, as the language writes percentages: 0.162 → "16.2%" /
    "16,2 %"; None → "—"."""
    if fraction is None:
        return "—"
    here = request_locale()
    # The language's own percent pattern ("#,##0%", "#,##0 %"), with one decimal place.
    pattern = copy(here.percent_formats[None])
    pattern.frac_prec = (1, 1)
    return pattern.apply(fraction, here)


def price_per(amount: Decimal, currency: str, interval: str) -> str:
    """ "RUB 490.00 / month" / "490,00 ₽ / мес." """
    price = money(amount, currency)
    per = {
        "day": gettext("%(price)s / day", price=price),
        "week": gettext("%(price)s / week", price=price),
        "month": gettext("%(price)s / month", price=price),
        "year": gettext("%(price)s / year", price=price),
    }
    return per.get(interval, f"{price} / {interval}")


def plan_price(plan: Any) -> str:
    """A plan's current price per period."""
    return price_per(plan.price, plan.currency, plan.interval)


def price_label(price: Any) -> str:
    """One of a plan's prices (a ``Price`` row) per period."""
    return price_per(price.amount, price.currency, price.interval)


def plan_name(plan: Any) -> str:
    """The plan's Russian name in Russian where it has one, else its name; isolated from the
    text around it (bidi.isolate), since it goes into titles, headings and messages."""
    return isolate((request_locale().language == "ru" and plan.name_ru) or plan.name)


def plan_description(plan: Any) -> str | None:
    return isolate((request_locale().language == "ru" and plan.description_ru) or plan.description)


def quota_summary(quotas: dict[str, int | None] | None) -> str:
    """ "1M in · 500K out · 5,000 requests", or "Unlimited" for a wholly unlimited plan."""
    if quotas is None:
        return gettext("Unlimited")

    def tokens(key: str) -> str:
        value = quotas.get(key)
        return gettext("unlimited") if value is None else compact(value)

    requests = quotas.get("requests")
    return " · ".join(
        (
            gettext("%(amount)s in", amount=tokens("tokens_input")),
            gettext("%(amount)s out", amount=tokens("tokens_output")),
            gettext("unlimited requests")
            if requests is None
            else ngettext(
                "%(count)s request", "%(count)s requests", requests, count=grouped(requests)
            ),
        )
    )


def audit_value(value: Any) -> str:
    """A value recorded in the audit log, readable in a table cell."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "; ".join(value) or gettext("(none)")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def relative_time(epoch: int, now: int, language: str | None = None) -> str:
    """ "in 12 days" or "3 days ago" (Babel's wording): days from one day to two months, then
    months or years; hours and minutes under a day. Days are counted between calendar dates in
    the page's time zone (``display_zone``), so "in 12 days" agrees with the date shown beside
    it whatever the hour: 1 Dec 20:00 → 13 Dec 05:00 is "in 12 days", not 11."""
    epoch, now = shown_epoch(epoch), shown_epoch(now)
    span = timedelta(seconds=epoch - now)
    days = abs(span.total_seconds()) / 86_400
    # Babel picks the largest unit whose value reaches the threshold; a threshold equal to the
    # number of days makes that unit "days" (weeks fall short of it, days meet it).
    threshold = days if 1 <= days < 60 else 0.85
    if days >= 1:
        where = display_zone()
        dates_apart = (local_date(epoch, where) - local_date(now, where)).days
        if dates_apart:
            span = timedelta(days=dates_apart)
            threshold = abs(dates_apart) if abs(dates_apart) < 60 else 0.85
        else:  # both on one 25-hour day (daylight saving time ends): in hours
            threshold = 24
    return format_timedelta(span, add_direction=True, threshold=threshold, locale=_in(language))


def display_zone() -> ZoneInfo:
    """The zone this page's times are in: Flask-Babel's ``get_timezone()`` (the signed-in
    admin's choice, else ``DISPLAY_TIMEZONE``; i18n/locales.py), as a zoneinfo zone; UTC
    outside the app (a unit test)."""
    if not has_app_context():
        return zone(DEFAULT_ZONE)
    chosen = get_timezone()
    return zone(getattr(chosen, "zone", None) or str(chosen))


def date_only(epoch: int | None, language: str | None = None) -> str:
    """ "Nov 21, 2026" / "21 нояб. 2026 г.": the date in the page's time zone."""
    if epoch is None:
        return "—"
    day = local_date(epoch, display_zone())
    return _day_text(day.toordinal(), language or str(request_locale()))


@functools.lru_cache(maxsize=8192)
def _day_text(day: int, language: str) -> str:
    # A page of 100 subscribers shows 200 dates, mostly of a few days: Babel's 15 µs a date
    # becomes a dictionary lookup (the subscriber page's budget is 10 ms, see benchmarks.md).
    return format_date(date.fromordinal(day), "medium", locale=language)


def iso_date(epoch: int) -> str:
    """A <time datetime="..."> value: machine-readable whatever the page's language; the same
    calendar date as the text beside it (the page's time zone)."""
    return local_date(epoch, display_zone()).isoformat()


def day_and_month(epoch: int) -> str:
    """ "Nov 21" / "21 нояб.": a chart's week label, in the page's time zone."""
    return format_skeleton("MMMd", _utc(epoch), tzinfo=display_zone(), locale=request_locale())


def timestamp(epoch: int | None) -> str:
    """The date and time in the page's time zone, with its offset from UTC at that moment:
    "Nov 21, 2026, 10:05 AM UTC" / "21 нояб. 2026 г., 13:05 UTC+03:00" (Europe/Moscow)."""
    if epoch is None:
        return "—"
    where, here = display_zone(), request_locale()
    text = format_datetime(_utc(epoch), _date_and_time_pattern(here), tzinfo=where, locale=here)
    return f"{text} {offset_label(epoch, where)}"


@functools.lru_cache(maxsize=16)
def _date_and_time_pattern(here: Locale) -> str:
    # The language's own way of joining a date and a time ("{1}, {0}"): a medium date and a
    # short time (no seconds), as one pattern for Babel's format_datetime.
    return (
        babel_datetime_format("medium", locale=here)
        .replace("{1}", here.date_formats["medium"].pattern)
        .replace("{0}", here.time_formats["short"].pattern)
    )


def offset_label(epoch: int, where: tzinfo) -> str:
    """ "UTC" when the zone is at UTC at that moment, else "UTC+03:00", "UTC-05:00" (Babel's ISO
    8601 offset, from the tz database)."""
    moment = _utc(epoch).astimezone(where)
    if not moment.utcoffset():
        return "UTC"
    return "UTC" + get_timezone_gmt(moment, "iso8601", locale=DEFAULT)


def time_zone_note() -> str:
    """The footer's "Times in Europe/Moscow (UTC+03:00)", or "Times in UTC"."""
    where = display_zone()
    offset = offset_label(now_epoch(), where)
    if offset == where.key:
        return gettext("Times in %(zone)s", zone=where.key)
    return gettext("Times in %(zone)s (%(offset)s)", zone=where.key, offset=offset)


def _utc(epoch: int) -> datetime:
    return moment(epoch, UTC)


def iso_timestamp(epoch: int) -> str:
    """ "2026-11-21 10:05 UTC": for command output, the same in every language."""
    return _utc(epoch).strftime("%Y-%m-%d %H:%M UTC")


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(
        page_window=page_window,
        languages=LANGUAGES,
        current_locale=lambda: str(request_locale()),
        time_zone_note=time_zone_note,
    )
    app.jinja_env.filters.update(
        grouped=grouped,
        compact=compact,
        money=money,
        percent=percent,
        plan_price=plan_price,
        price_label=price_label,
        plan_name=plan_name,
        plan_description=plan_description,
        quota_summary=quota_summary,
        timestamp=timestamp,
        audit_value=audit_value,
        relative_time=relative_time,
        date_only=date_only,
        iso_date=iso_date,
        # User-supplied text, isolated from the page around it (bidi.py).
        bdi=bdi,
        isolate=isolate,
    )
