"""Regression tests for what a review of issue 8 (Russian and English interface) found: money
and numbers in messages written the Russian way, the switcher on pages that answer a POST,
Russian that reads right, chart legends that name groups, and the page check's own blind spot."""

import re
from decimal import Decimal

import sqlalchemy as sa
from flask import Response
from flask_babel import force_locale, gettext

from billing_admin.extensions import db
from billing_admin.formatting import grouped, money
from billing_admin.models import User
from billing_admin.plans.seeding import seed_plans
from tests.helpers import ADMIN_EMAIL, add_plan, add_subscription, csrf_token_from, plan_form
from tests.test_i18n_pages import Pages, collect_data, plan_form_of


def choose_russian() -> None:
    db.session.execute(sa.update(User).where(User.email == ADMIN_EMAIL).values(locale="ru"))
    db.session.commit()


def post_form(client, path: str, data: dict):
    token = csrf_token_from(client.get("/admin/plans/new").get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def in_russian(app, function, *args):
    with app.test_request_context(headers={"Accept-Language": "ru"}), force_locale("ru"):
        return function(*args)


def field_errors(html: str) -> list[str]:
    return re.findall(r'class="field-error">([^<]*)<', html)


def plan_with_an_active_subscription() -> None:
    add_plan("pro")  # RUB 1,490.00 a month, 5,000,000 input tokens
    add_subscription("pro", "active")
    db.session.commit()


# --- Numbers and money written the Russian way ------------------------------------------------


def test_the_price_change_warning_writes_money_the_russian_way(app, admin_client):
    plan_with_an_active_subscription()
    choose_russian()
    response = post_form(admin_client, "/admin/plans/pro/edit", plan_form_of("pro", price="1990"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    warning = re.search(
        r'<article class="notice notice-warning" role="alert">(.*?)</article>', html, re.S
    )
    assert warning, html
    old = in_russian(app, money, Decimal("1490"), "RUB")  # "1 490,00 ₽"
    new = in_russian(app, money, Decimal("1990"), "RUB")
    assert old in warning.group(1) and new in warning.group(1), warning.group(1)
    assert "1490,00" not in warning.group(1) and "1990,00" not in warning.group(1)


def test_the_lowered_quota_message_groups_its_numbers_in_russian(app, admin_client):
    plan_with_an_active_subscription()
    choose_russian()
    form = plan_form_of("pro", tokens_input="10")
    response = post_form(admin_client, "/admin/plans/pro/edit", form)
    assert response.status_code == 422
    [message] = [
        m for m in field_errors(response.get_data(as_text=True)) if "Нельзя уменьшить" in m
    ]
    assert in_russian(app, grouped, 5_000_000) in message, message  # "5 000 000"
    assert "5000000" not in message, message


# --- The language switcher --------------------------------------------------------------------


def test_switching_language_on_an_error_page_of_a_post_lands_on_a_page(app, admin_client):
    plan_with_an_active_subscription()
    error_page = admin_client.post("/admin/plans/pro/deactivate", data={})  # no CSRF token
    assert error_page.status_code == 400
    html = error_page.get_data(as_text=True)
    switcher = re.search(r'<form method="post" action="/account/language".*?</form>', html, re.S)
    assert switcher, html
    next_page = re.search(r'name="next" value="([^"]*)"', switcher.group(0)).group(1)
    response = admin_client.post(
        "/account/language",
        data={"locale": "ru", "next": next_page, "csrf_token": csrf_token_from(html)},
        follow_redirects=True,
    )
    assert response.status_code == 200, (next_page, response.status_code)


# --- Russian wording ---------------------------------------------------------------------------


def test_the_unterminated_string_json_error_reads_as_a_russian_sentence(admin_client):
    choose_russian()
    response = post_form(
        admin_client, "/admin/plans/new", plan_form(plan_extra_metadata='{"a": "x')
    )
    assert response.status_code == 422
    [message] = field_errors(response.get_data(as_text=True))
    assert message.startswith("Неверный JSON:"), message
    assert not re.search(r"начатой \(", message), message


def test_the_stale_edit_notice_agrees_with_someone_else(app):
    text = in_russian(
        app,
        gettext,
        "Their saved values are beside yours below. Your input is kept; <strong>saving again "
        "replaces their values with yours</strong>.",
    )
    assert "их сохраненные" not in text and "заменит их значения" not in text, text


def test_the_subscribers_chart_legend_names_groups_of_subscribers(admin_client):
    plan_with_an_active_subscription()
    add_subscription("pro", "trialing")
    db.session.commit()
    choose_russian()
    html = admin_client.get("/admin/").get_data(as_text=True)
    figure = re.search(r'<figure class="chart" id="chart-subscribers">.*?</figure>', html, re.S)
    assert figure, html
    legend = re.findall(r'aria-hidden="true"></span>([^<]*)</li>', figure.group(0))
    assert legend, figure.group(0)
    assert "Активна" not in legend, legend


# --- Can the i18n tests fail? ------------------------------------------------------------------


def test_the_page_check_flags_an_unmarked_unlimited(app):
    seed_plans()
    pages = Pages("ru")
    page = '<html lang="ru"><body><p>Входящие токены: unlimited</p></body></html>'
    pages.add("a plan's quotas", Response(page, mimetype="text/html"))
    assert pages.problems(collect_data()), "an English word on a Russian page went unnoticed"


def test_russian_calls_a_plan_a_tariff_everywhere():
    """The Russian interface names a billing plan "тариф" (the plan list, headings, the
    original's own pages); the subscription actions once said "план" beside "Тариф"."""
    from babel.messages.pofile import read_po

    from tests.test_i18n_catalogue import CATALOGUE

    with open(CATALOGUE, "rb") as po:
        catalogue = read_po(po)
    mixed = [
        message.string
        for message in catalogue
        if message.id
        and any(
            re.search(r"\bплан(а|е|у|ом|ы|ов)?\b", text, re.IGNORECASE)
            for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        )
    ]
    assert mixed == []
