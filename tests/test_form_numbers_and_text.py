"""Numbers as people type them (in the page's language) and text that cannot disguise itself:
the plan form, the shared validation (seed-plans and the API use it too) and the messages."""

import re
from decimal import Decimal
from html import unescape

import pytest

from billing_admin.extensions import db
from billing_admin.models import Plan
from billing_admin.parsing import NumberNotUnderstood, number_for_input, parse_number
from billing_admin.plans.rules import PlanRuleError, check_quota_change
from billing_admin.plans.spec import PlanSpec
from billing_admin.plans.validation import plan_errors
from tests.helpers import add_plan, add_subscription, csrf_token_from, plan_form

NBSP, NNBSP = "\u00a0", "\u202f"
RU = {"Accept-Language": "ru"}


# -- The parser ---------------------------------------------------------------------------------

ACCEPTED = [
    ("en", "1,490.50", Decimal("1490.50")),
    ("en", "1,490", Decimal("1490")),
    ("en", "1490.5", Decimal("1490.5")),
    ("en", "1 490.50", Decimal("1490.50")),
    ("en", "-0", Decimal("0")),
    ("ru", "1 490,50", Decimal("1490.50")),
    ("ru", f"1{NBSP}490,50", Decimal("1490.50")),
    ("ru", f"1{NNBSP}490,50", Decimal("1490.50")),
    ("ru", "1490,5", Decimal("1490.5")),
    ("ru", "490.50", Decimal("490.50")),  # a point with two digits after it is a decimal point
    ("ru", "5 000 000", Decimal("5000000")),
]


@pytest.mark.parametrize(("language", "typed", "number"), ACCEPTED)
def test_numbers_are_read_in_the_pages_language(language, typed, number):
    assert parse_number(typed, language) == number


REFUSED = [
    # language, typed, whole, message
    ("en", "1,49", False, "Write numbers like 1,490.50. Did you mean 149 or 1.49?"),
    ("en", "490,50", False, "Write numbers like 1,490.50. Did you mean 49,050 or 490.5?"),
    ("en", "1e5", False, "Write numbers like 1,490.50."),
    ("en", "\u0663", False, "Write numbers like 1,490.50."),  # an Arabic-Indic three
    ("en", "1,490.50", True, "Write a whole number, like 5,000,000."),
    ("en", "5.000", True, "Write a whole number, like 5,000,000."),
    ("ru", "1.490", False, f"Write numbers like 1{NBSP}490,50. Did you mean 1{NBSP}490 or 1,490?"),
    ("ru", "1,490.50", False, f"Write numbers like 1{NBSP}490,50."),
    ("ru", "1 49", False, f"Write numbers like 1{NBSP}490,50."),
    ("ru", "9" * 41, True, f"Write a whole number, like 5{NBSP}000{NBSP}000."),
]


@pytest.mark.parametrize(("language", "typed", "whole", "message"), REFUSED)
def test_ambiguous_or_foreign_numbers_are_refused_with_how_to_write_them(
    app, language, typed, whole, message
):
    with pytest.raises(NumberNotUnderstood) as refused:
        parse_number(typed, language, whole=whole)
    assert str(refused.value) == message


def test_numbers_for_the_form_are_grouped_and_read_back():
    assert number_for_input(5_000_000, "en") == "5,000,000"
    assert number_for_input(5_000_000, "ru") == f"5{NBSP}000{NBSP}000"
    assert number_for_input(Decimal("1490.5"), "ru", places=2) == f"1{NBSP}490,50"
    for language in ("en", "ru"):
        shown = number_for_input(Decimal("1490.50"), language, places=2)
        assert parse_number(shown, language) == Decimal("1490.50")


# -- The plan form in both languages --------------------------------------------------------------


def post_new(client, headers=None, **overrides):
    page = client.get("/admin/plans/new", headers=headers or {}).get_data(as_text=True)
    data = {**plan_form(**overrides), "csrf_token": csrf_token_from(page)}
    return client.post("/admin/plans/new", data=data, headers=headers or {})


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<small id="{field}-errors" class="field-error">([^<]*)</small>', html)
    return unescape(match.group(1)) if match else ""


def stored(plan_id: str = "team") -> Plan:
    db.session.rollback()
    return db.session.get(Plan, plan_id)


def test_english_prices_and_quotas_as_english_pages_write_them(admin_client):
    response = post_new(admin_client, price="1,490.50", requests="5,000,000")
    assert response.status_code == 302, field_error(response.get_data(as_text=True), "price")
    plan = stored()
    assert plan.price == Decimal("1490.50")
    assert plan.quotas["requests"] == 5_000_000


@pytest.mark.parametrize("space", [" ", NBSP, NNBSP])
def test_russian_prices_and_quotas_with_any_space(admin_client, space):
    response = post_new(
        admin_client,
        headers=RU,
        price=f"1{space}490,50",
        requests=f"5{space}000{space}000",
        tokens_input=f"2{space}000{space}000",
    )
    assert response.status_code == 302
    plan = stored()
    assert plan.price == Decimal("1490.50")
    assert (plan.quotas["requests"], plan.quotas["tokens_input"]) == (5_000_000, 2_000_000)


def test_an_ambiguous_russian_price_keeps_the_input_and_says_how_to_write_it(admin_client):
    response = post_new(admin_client, headers=RU, price="1.490")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "price") == (
        f"Пишите числа так: 1{NBSP}490,50. Вы имели в виду 1{NBSP}490 или 1,490?"
    )
    assert 'value="1.490"' in html
    assert stored() is None


def test_the_edit_form_shows_quotas_grouped_in_each_language(admin_client):
    add_plan("pro")
    english = admin_client.get("/admin/plans/pro/edit").get_data(as_text=True)
    assert 'value="5,000,000"' in english
    assert 'value="1,490.00"' in english
    russian = admin_client.get("/admin/plans/pro/edit", headers=RU).get_data(as_text=True)
    assert f'value="5{NBSP}000{NBSP}000"' in russian
    assert f'value="1{NBSP}490,00"' in russian


def test_the_edit_form_saves_what_it_shows_unchanged(admin_client):
    add_plan("pro")
    for headers in ({}, RU):
        page = admin_client.get("/admin/plans/pro/edit", headers=headers).get_data(as_text=True)
        fields = dict(re.findall(r'<input[^>]* name="([a-z_]+)"[^>]* value="([^"]*)"', page))
        version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
        data = plan_form(
            name="Pro",
            name_ru=None,
            description=None,
            description_ru=None,
            features="GPT-4o",
            is_active="y",
            display_order=unescape(fields["display_order"]),
            price=unescape(fields["price"]),
            tokens_input=unescape(fields["tokens_input"]),
            tokens_output=unescape(fields["tokens_output"]),
            requests=unescape(fields["requests"]),
        )
        data.update(version=version, csrf_token=csrf_token_from(page))
        response = admin_client.post("/admin/plans/pro/edit", data=data, headers=headers)
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    plan = stored("pro")
    assert plan.price == Decimal("1490.00")
    assert plan.quotas["tokens_input"] == 5_000_000


def test_messages_group_their_numbers_in_both_languages(admin_client):
    response = post_new(admin_client, description="d" * 1001)
    assert field_error(response.get_data(as_text=True), "description") == (
        "Must be at most 1,000 characters."
    )
    response = post_new(admin_client, headers=RU, description="d" * 1001)
    assert field_error(response.get_data(as_text=True), "description") == (
        f"Не более 1{NBSP}000 символов."
    )


def test_the_quota_rule_names_the_field_as_the_page_labels_it(admin_client):
    add_plan("pro")
    add_subscription("pro", "active")
    db.session.commit()
    page = admin_client.get("/admin/plans/pro/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    data = plan_form(
        name="Pro",
        price="1490.00",
        tokens_input="5000000",
        tokens_output="2000000",
        requests="10,000",
        version=version,
        csrf_token=csrf_token_from(page),
    )
    english = admin_client.post("/admin/plans/pro/edit", data=data)
    assert english.status_code == 422
    assert field_error(english.get_data(as_text=True), "requests") == (
        "Requests per period cannot go down from 20,000 to 10,000 while the plan has active "
        "subscriptions. Create a new plan instead."
    )
    russian = admin_client.post(
        "/admin/plans/pro/edit", data={**data, "requests": "10 000"}, headers=RU
    )
    assert field_error(russian.get_data(as_text=True), "requests").startswith(
        f"Нельзя уменьшить «Запросы за период» (было: 20{NBSP}000, станет: 10{NBSP}000)"
    )
    assert stored("pro").quotas["requests"] == 20_000


def test_the_quota_rule_keeps_the_original_wording_outside_pages(app):
    with pytest.raises(PlanRuleError) as refused:
        check_quota_change({"requests": 20_000}, {"requests": 10_000}, active_subscriptions=1)
    assert str(refused.value) == (
        "Cannot decrease quota 'requests' from 20000 to 10000 while plan has active "
        "subscriptions. Create a new plan instead."
    )


# -- Text that cannot disguise itself ----------------------------------------------------------

INVISIBLE = [
    "\u202e",  # right-to-left override
    "\u202a",  # left-to-right embedding
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u00ad",  # soft hyphen
    "\ufeff",  # byte-order mark
]


def spec(**fields) -> PlanSpec:
    values = dict(
        id="team",
        name="Team",
        name_ru=None,
        description=None,
        description_ru=None,
        price=Decimal("990.00"),
        currency="RUB",
        interval="month",
        quotas=None,
        features=("GPT-4o",),
        is_active=True,
        display_order=0,
        plan_extra_metadata=None,
    )
    values.update(fields)
    return PlanSpec(**values)


@pytest.mark.parametrize("char", INVISIBLE)
@pytest.mark.parametrize("field", ["name", "name_ru", "description", "description_ru"])
def test_invisible_format_characters_are_refused_in_text(app, field, char):
    errors = plan_errors(spec(**{field: f"Team{char}Pro"}))
    assert errors[field] == [
        "Must not contain invisible formatting characters (such as a right-to-left override "
        "or a zero-width space)."
    ]


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_format_characters_are_refused_in_features_and_ids(app, char):
    errors = plan_errors(spec(id=f"team{char}", features=(f"GPT{char}-4o",)))
    assert "Must not contain invisible formatting" in errors["features"][0]
    assert errors["id"] == ["Use only lowercase letters, digits, '_' and '-'."]


def test_ordinary_scripts_and_marks_are_still_text(app):
    assert (
        plan_errors(spec(name="Про Макс", name_ru="עברית ومعها العربية", description="é ñ")) == {}
    )


def test_the_form_refuses_an_override_by_the_field_keeping_the_input(admin_client):
    response = post_new(admin_client, name="Evil\u202eTeam")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "invisible formatting characters" in field_error(html, "name")
    assert stored() is None
