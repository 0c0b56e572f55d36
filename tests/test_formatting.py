"""Numbers, money, dates and plurals as each language writes them (Babel), and the English
that commands print. Examples from issue 8: ``1 490,00 ₽`` / ``RUB 1,490.00``,
``21 нояб. 2026 г.`` / ``Nov 21, 2026``, "1 подписчик", "2 подписчика", "5 подписчиков"."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import render_template_string
from flask_babel import force_locale

from billing_admin.formatting import (
    compact,
    date_only,
    day_and_month,
    grouped,
    iso_timestamp,
    money,
    plan_description,
    plan_name,
    plan_price,
    quota_summary,
    relative_time,
    timestamp,
)
from billing_admin.reporting.mrr import mrr
from tests.helpers import make_app

NBSP = "\N{NO-BREAK SPACE}"


def plain(text: str) -> str:
    """Babel's no-break spaces (U+00A0, and U+202F before "г.") read as spaces here."""
    return text.replace(NBSP, " ").replace("\N{NARROW NO-BREAK SPACE}", " ")


NOV_21_2026_10_05 = 1_795_255_500  # 2026-11-21 10:05 UTC


@pytest.fixture(scope="module")
def in_language():
    """``with in_language("ru"):`` runs the body as a request answered in that language."""
    app = make_app("sqlite://")

    def enter(code: str):
        context = app.test_request_context("/")
        context.push()
        locale = force_locale(code)
        locale.__enter__()

        class Scope:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                locale.__exit__(*exc)
                context.pop()

        return Scope()

    return enter


@pytest.mark.parametrize(
    ("number", "english", "russian"),
    [
        (0, "0", "0"),
        (500, "500", "500"),
        (50_000, "50K", "50 тыс."),
        (100_000, "100K", "100 тыс."),
        (1_000_000, "1M", "1 млн"),
        (1_500_000, "1.5M", "1,5 млн"),
        (20_000_000, "20M", "20 млн"),
        (2_500_000_000, "2.5B", "2,5 млрд"),
    ],
)
def test_compact(in_language, number, english, russian):
    with in_language("en"):
        assert compact(number) == english
    with in_language("ru"):
        assert plain(compact(number)) == russian


def test_grouped_numbers(in_language):
    with in_language("en"):
        assert grouped(12_345) == "12,345"
    with in_language("ru"):
        assert grouped(12_345) == f"12{NBSP}345"


@pytest.mark.parametrize(
    ("amount", "currency", "english", "russian"),
    [
        ("1490", "RUB", "RUB 1,490.00", "1 490,00 ₽"),
        ("14990", "RUB", "RUB 14,990.00", "14 990,00 ₽"),
        ("12.5", "EUR", "€12.50", "12,50 €"),
        ("9.99", "USD", "$9.99", "9,99 $"),
        ("-5", "RUB", "-RUB 5.00", "-5,00 ₽"),
        ("0", "RUB", "RUB 0.00", "0,00 ₽"),
    ],
)
def test_money(in_language, amount, currency, english, russian):
    """Grouped, two places, the language's symbol; the space is a no-break space, so an amount
    never wraps onto two lines."""
    with in_language("en"):
        assert money(Decimal(amount), currency) == english.replace(" ", NBSP)
    with in_language("ru"):
        assert money(Decimal(amount), currency) == russian.replace(" ", NBSP)
    assert money(None) == "—"


@pytest.mark.parametrize(
    ("interval", "english", "russian"),
    [
        ("month", "RUB 1,490.00 / month", "1 490,00 ₽ / мес."),
        ("year", "RUB 1,490.00 / year", "1 490,00 ₽ / год"),
        ("week", "RUB 1,490.00 / week", "1 490,00 ₽ / нед."),
        ("day", "RUB 1,490.00 / day", "1 490,00 ₽ / день"),
    ],
)
def test_plan_price(in_language, interval, english, russian):
    plan = SimpleNamespace(price=Decimal("1490"), currency="RUB", interval=interval)
    with in_language("en"):
        assert plain(plan_price(plan)) == english
    with in_language("ru"):
        assert plain(plan_price(plan)) == russian


def test_dates(in_language):
    with in_language("en"):
        assert date_only(NOV_21_2026_10_05) == "Nov 21, 2026"
        assert day_and_month(NOV_21_2026_10_05) == "Nov 21"
        assert plain(timestamp(NOV_21_2026_10_05)) == "Nov 21, 2026, 10:05 AM UTC"
    with in_language("ru"):
        assert plain(date_only(NOV_21_2026_10_05)) == "21 нояб. 2026 г."
        assert day_and_month(NOV_21_2026_10_05) == "21 нояб."
        assert plain(timestamp(NOV_21_2026_10_05)) == "21 нояб. 2026 г., 10:05 UTC"
    assert date_only(None) == timestamp(None) == "—"


def test_command_output_keeps_iso_times_in_every_language(in_language):
    with in_language("ru"):
        assert iso_timestamp(NOV_21_2026_10_05) == "2026-11-21 10:05 UTC"


@pytest.mark.parametrize(
    ("offset_days", "english", "russian"),
    [
        (12, "in 12 days", "через 12 дней"),
        (-3, "3 days ago", "3 дня назад"),
        (1, "in 1 day", "через 1 день"),
    ],
)
def test_relative_time(in_language, offset_days, english, russian):
    now = NOV_21_2026_10_05
    with in_language("en"):
        assert relative_time(now + offset_days * 86_400, now) == english
    with in_language("ru"):
        assert relative_time(now + offset_days * 86_400, now) == russian


def test_quota_summary(in_language):
    quotas = {"tokens_input": 1_000_000, "tokens_output": 500_000, "requests": 5_000}
    partly = {"tokens_input": None, "tokens_output": 5, "requests": None}
    with in_language("en"):
        assert quota_summary(quotas) == "1M in · 500K out · 5,000 requests"
        assert quota_summary({**quotas, "requests": 1}).endswith(" · 1 request")
        assert quota_summary(None) == "Unlimited"
        assert quota_summary(partly) == "unlimited in · 5 out · unlimited requests"
    with in_language("ru"):
        assert plain(quota_summary(quotas)) == (
            "1 млн на вход · 500 тыс. на выход · 5 000 запросов"
        )
        assert quota_summary({**quotas, "requests": 1}).endswith(" · 1 запрос")
        assert quota_summary({**quotas, "requests": 3}).endswith(" · 3 запроса")
        assert quota_summary(None) == "Без ограничений"


@pytest.mark.parametrize(
    ("count", "russian"),
    [
        (1, "1 подписчик"),
        (2, "2 подписчика"),
        (4, "4 подписчика"),
        (5, "5 подписчиков"),
        (11, "11 подписчиков"),
        (12, "12 подписчиков"),
        (21, "21 подписчик"),
        (22, "22 подписчика"),
        (111, "111 подписчиков"),
        (1001, "1 001 подписчик"),
    ],
)
def test_russian_plural_forms(in_language, count, russian):
    """The catalogue's plural rule picks one/few/many as Russian does (11–14 are "many")."""

    def subscribers(n):  # as the plan list's link to a plan's subscribers says it
        return render_template_string(
            '{{ ngettext("%(num)s subscriber", "%(num)s subscribers", n, num=n | grouped) }}', n=n
        )

    with in_language("ru"):
        assert plain(subscribers(count)) == russian
    with in_language("en"):
        assert subscribers(1) == "1 subscriber"
        assert subscribers(count) == (f"{count:,} subscribers" if count != 1 else "1 subscriber")


def test_plan_names_follow_the_language(in_language):
    named = SimpleNamespace(
        name="Pro", name_ru="Про", description="For pros", description_ru="Для профи"
    )
    english_only = SimpleNamespace(
        name="Team", name_ru=None, description="For teams", description_ru=""
    )
    with in_language("ru"):
        assert (plan_name(named), plan_description(named)) == ("Про", "Для профи")
        assert (plan_name(english_only), plan_description(english_only)) == ("Team", "For teams")
    with in_language("en"):
        assert (plan_name(named), plan_description(named)) == ("Pro", "For pros")


def test_outside_a_request_everything_is_english():
    """Commands (seed-plans, api-token list) run without a request: English."""
    assert money(Decimal("1490")) == f"RUB{NBSP}1,490.00"
    assert quota_summary(None) == "Unlimited"


@pytest.mark.parametrize(
    ("price", "interval", "active", "expected"),
    [
        ("490.00", "month", 2, "980.00"),
        ("4704.00", "year", 1, "392.00"),  # a year counts /12
        ("100.00", "week", 3, "1299.00"),  # a week ×4.33
        ("10.00", "day", 1, "300.00"),  # a day ×30
        ("14990.00", "month", 0, "0.00"),
        ("999.99", "year", 7, "583.33"),  # rounded to the cent
    ],
)
def test_mrr(price, interval, active, expected):
    assert mrr(Decimal(price), interval, active) == Decimal(expected)
