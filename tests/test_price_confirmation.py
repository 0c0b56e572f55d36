"""The price-change confirmation tells the truth before saving (issue 12): how many active
subscriptions keep which price, what new subscriptions pay, and that MRR does not move today, with
its figure; in English and Russian, on the edit page. Figures by hand beside each expectation.
"""

import re
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import Plan, Price
from tests.helpers import add_plan, add_subscriptions, change_plan, csrf_token_from, plan_form
from tests.subscriber_data import bulk_subscribers

NBSP = "\xa0"
STARTER_FORM = {
    "name": "Starter",
    "name_ru": "",
    "description": "",
    "description_ru": "",
    "price": "490.00",
    "tokens_input": "1000000",
    "tokens_output": "500000",
    "requests": "5000",
    "features": "",
    "display_order": "1",
}
QUOTAS = {"tokens_input": 1_000_000, "tokens_output": 500_000, "requests": 5_000}


def post_edit(client, language="en", **overrides):
    headers = {"Accept-Language": language}
    html = client.get("/admin/plans/starter/edit", headers=headers).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    data = plan_form(**{**STARTER_FORM, **overrides}, id=None)
    data.update(csrf_token=csrf_token_from(html), version=version)
    return client.post("/admin/plans/starter/edit", data=data, headers=headers)


def warning_of(response) -> str:
    """The confirmation's message: the paragraph of the warning notice."""
    html = response.get_data(as_text=True)
    match = re.search(r'<article class="notice notice-warning" role="alert">\s*<p>(.*?)</p>', html)
    assert match, html[:2000]
    return unescape(match.group(1))


def confirm_button(response) -> tuple[str, str]:
    """(the value it confirms, its label)."""
    html = response.get_data(as_text=True)
    match = re.search(
        r'<button type="submit" name="confirm_price_change" value="([^"]*)">([^<]*)<', html
    )
    assert match, html[:2000]
    return unescape(match.group(1)), unescape(match.group(2))


def stored_price() -> tuple[Decimal, str, str]:
    db.session.rollback()
    plan = db.session.get(Plan, "starter")
    return plan.price, plan.currency, plan.interval


@pytest.fixture
def starter_309(app):
    """The issue's example: Starter at RUB 490.00 a month with 309 active subscriptions (and
    some that do not pay: they are not in the figures)."""
    add_plan("starter", name="Starter", price=Decimal("490.00"), quotas=QUOTAS, display_order=1)
    bulk_subscribers("starter", 309)
    bulk_subscribers("starter", 4, statuses=("trialing", "canceled"))


def test_the_issues_example_word_for_word(admin_client, starter_309):
    response = post_edit(admin_client, price="590")
    assert response.status_code == 200
    assert warning_of(response) == (
        f"309 active subscriptions keep RUB{NBSP}490.00; new subscriptions pay RUB{NBSP}590.00; "
        f"MRR unchanged today (RUB{NBSP}151,410.00)."  # 309 × 490
    )
    assert confirm_button(response) == (
        "590.00 RUB month",
        f"Save with the new price (RUB{NBSP}590.00)",
    )
    assert stored_price() == (Decimal("490.00"), "RUB", "month")  # nothing saved yet


def test_the_issues_example_in_russian(admin_client, starter_309):
    response = post_edit(admin_client, language="ru", price="590")
    assert warning_of(response) == (
        f"309 активных подписок сохраняют цену 490,00{NBSP}₽; новые подписки платят "
        f"590,00{NBSP}₽; MRR сегодня не меняется (151{NBSP}410,00{NBSP}₽)."
    )
    assert confirm_button(response) == (
        "590.00 RUB month",  # the token is not translated
        f"Сохранить с новой ценой (590,00{NBSP}₽)",
    )


@pytest.mark.parametrize(
    ("active", "english", "russian"),
    [
        (1, "1 active subscription keeps", "1 активная подписка сохраняет цену"),
        (2, "2 active subscriptions keep", "2 активные подписки сохраняют цену"),
        (21, "21 active subscriptions keep", "21 активная подписка сохраняет цену"),
    ],
)
def test_one_and_many_in_both_languages(admin_client, app, active, english, russian):
    add_plan("starter", name="Starter", price=Decimal("490.00"), quotas=QUOTAS)
    bulk_subscribers("starter", active)
    assert warning_of(post_edit(admin_client, price="590")).startswith(english)
    assert warning_of(post_edit(admin_client, language="ru", price="590")).startswith(russian)


@pytest.fixture
def starter_two_prices(app):
    """209 active pay RUB 490.00 and, after a change, 100 active pay RUB 390.00."""
    add_plan("starter", name="Starter", price=Decimal("490.00"), quotas=QUOTAS, display_order=1)
    bulk_subscribers("starter", 209)
    change_plan("starter", price=Decimal("390.00"))
    bulk_subscribers("starter", 100)


def test_subscriptions_on_several_prices_are_listed_most_first(admin_client, starter_two_prices):
    response = post_edit(admin_client, price="590")
    assert warning_of(response) == (
        f"309 active subscriptions keep the prices they pay (209 pay RUB{NBSP}490.00, 100 pay "
        f"RUB{NBSP}390.00); new subscriptions pay RUB{NBSP}590.00; MRR unchanged today "
        f"(RUB{NBSP}141,410.00)."  # 209 × 490 + 100 × 390 = 102,410 + 39,000
    )


def test_subscriptions_on_several_prices_in_russian(admin_client, starter_two_prices):
    response = post_edit(admin_client, language="ru", price="590")
    assert warning_of(response) == (
        f"309 активных подписок сохраняют свои цены (209 платят 490,00{NBSP}₽, 100 платят "
        f"390,00{NBSP}₽); новые подписки платят 590,00{NBSP}₽; MRR сегодня не меняется "
        f"(141{NBSP}410,00{NBSP}₽)."
    )


def test_a_period_change_names_the_periods(admin_client, app):
    add_plan("starter", name="Starter", price=Decimal("490.00"), quotas=QUOTAS)
    add_subscriptions("starter", "active", 2)
    response = post_edit(admin_client, price="4704", interval="year")
    assert warning_of(response) == (
        f"2 active subscriptions keep RUB{NBSP}490.00 / month; new subscriptions pay "
        f"RUB{NBSP}4,704.00 / year; MRR unchanged today (RUB{NBSP}980.00)."
    )
    assert confirm_button(response)[0] == "4704.00 RUB year"
    russian = post_edit(admin_client, language="ru", price="4704", interval="year")
    assert warning_of(russian) == (
        f"2 активные подписки сохраняют цену 490,00{NBSP}₽ / мес.; новые подписки платят "
        f"4{NBSP}704,00{NBSP}₽ / год; MRR сегодня не меняется (980,00{NBSP}₽)."
    )


def test_a_currency_change_keeps_the_old_currency_in_the_message(admin_client, app):
    add_plan("starter", name="Starter", price=Decimal("20.00"), currency="USD", quotas=QUOTAS)
    add_subscriptions("starter", "active", 3)
    response = post_edit(admin_client, price="1990", currency="RUB")
    assert warning_of(response) == (
        f"3 active subscriptions keep $20.00; new subscriptions pay RUB{NBSP}1,990.00; "
        "MRR unchanged today ($60.00)."  # 3 × 20 dollars
    )
    assert confirm_button(response)[0] == "1990.00 RUB month"


def test_an_old_currency_still_paid_is_in_the_mrr_of_the_message(admin_client, app):
    add_plan("starter", name="Starter", price=Decimal("20.00"), currency="USD", quotas=QUOTAS)
    add_subscriptions("starter", "active", 3)
    change_plan("starter", price=Decimal("1990.00"), currency="RUB")
    add_subscriptions("starter", "active")
    response = post_edit(admin_client, price="2490")
    assert warning_of(response) == (
        f"4 active subscriptions keep the prices they pay (3 pay $20.00, 1 pays "
        f"RUB{NBSP}1,990.00); new subscriptions pay RUB{NBSP}2,490.00; MRR unchanged today "
        f"(RUB{NBSP}1,990.00, $60.00)."
    )


def test_confirming_saves_the_price_and_opens_it_as_a_new_price(admin_client, starter_309):
    token, _ = confirm_button(post_edit(admin_client, price="590"))
    response = post_edit(admin_client, price="590", confirm_price_change=token)
    assert response.status_code == 302
    assert stored_price() == (Decimal("590.00"), "RUB", "month")
    amounts = db.session.scalars(sa.select(Price.amount).order_by(Price.id)).all()
    assert amounts == [Decimal("490.00"), Decimal("590.00")]


def test_a_confirmation_of_another_period_does_not_save(admin_client, starter_309):
    response = post_edit(
        admin_client, price="590", interval="week", confirm_price_change="590.00 RUB month"
    )
    assert response.status_code == 200
    assert confirm_button(response)[0] == "590.00 RUB week"
    assert stored_price() == (Decimal("490.00"), "RUB", "month")


def test_a_change_of_name_only_needs_no_confirmation(admin_client, starter_309):
    response = post_edit(admin_client, name="Starter+")
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Price)) == 1
