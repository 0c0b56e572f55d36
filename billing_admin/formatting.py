"""How numbers, money and quotas read on the page. Registered as Jinja filters."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_timedelta
from flask import Flask

from billing_admin.pagination import page_window
from billing_admin.plans.spec import CENT

# Parsed once: Babel looks a locale given by name up again on every call (3× slower).
ENGLISH = Locale.parse("en")


def grouped(number: int) -> str:
    """5000 → "5,000"."""
    return f"{number:,}"


def compact(number: int) -> str:
    """Token counts at a glance: 500000 → "500K", 1000000 → "1M", 1500000 → "1.5M"."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if abs(number) >= size:
            value = Decimal(number) / size
            text = f"{value.quantize(Decimal('0.1')):f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return str(number)


def money(amount: Decimal | int | None, currency: str = "RUB") -> str:
    """1490 → "1,490.00 RUB"."""
    if amount is None:
        return "—"
    return f"{Decimal(amount).quantize(CENT):,} {currency}"


def plan_price(plan: Any) -> str:
    """ "490.00 RUB / month" """
    return f"{Decimal(plan.price).quantize(CENT)} {plan.currency} / {plan.interval}"


def quota_summary(quotas: dict[str, int | None] | None) -> str:
    """ "1M in · 500K out · 5,000 requests", or "Unlimited" for a wholly unlimited plan."""
    if quotas is None:
        return "Unlimited"

    def part(key: str, shown) -> str:
        value = quotas.get(key)
        return "unlimited" if value is None else shown(value)

    return " · ".join(
        (
            f"{part('tokens_input', compact)} in",
            f"{part('tokens_output', compact)} out",
            f"{part('requests', grouped)} requests",
        )
    )


def audit_value(value: Any) -> str:
    """A value recorded in the audit log, readable in a table cell."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "; ".join(value) or "(none)"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def relative_time(epoch: int, now: int) -> str:
    """ "in 12 days" or "3 days ago" (Babel's wording): days from one day to two months, then
    months or years; hours and minutes under a day."""
    seconds = epoch - now
    days = abs(seconds) / 86_400
    # Babel picks the largest unit whose value reaches the threshold; a threshold equal to the
    # number of days makes that unit "days" (weeks fall short of it, days meet it).
    threshold = days if 1 <= days < 60 else 0.85
    return format_timedelta(
        timedelta(seconds=seconds), add_direction=True, threshold=threshold, locale=ENGLISH
    )


def date_only(epoch: int | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def timestamp(epoch: int | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(page_window=page_window)
    app.jinja_env.filters.update(
        grouped=grouped,
        compact=compact,
        money=money,
        plan_price=plan_price,
        quota_summary=quota_summary,
        timestamp=timestamp,
        audit_value=audit_value,
        relative_time=relative_time,
        date_only=date_only,
    )
