"""The plan form in the browser: every field rule, kept input, and nothing written on error."""

import re
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan
from tests.helpers import add_plan, csrf_token_from, plan_form


def post_new(client, **overrides):
    token = csrf_token_from(client.get("/admin/plans/new").get_data(as_text=True))
    return client.post("/admin/plans/new", data={**plan_form(**overrides), "csrf_token": token})


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<small id="{field}-errors" class="field-error">([^<]*)</small>', html)
    return unescape(match.group(1)) if match else ""


def textarea(html: str, field: str) -> str:
    match = re.search(rf'<textarea[^>]*id="{field}"[^>]*>(.*?)</textarea>', html, re.S)
    return unescape(match.group(1)).strip("\r\n") if match else ""


def counts() -> tuple[int, int]:
    db.session.rollback()
    return (
        db.session.scalar(sa.select(sa.func.count(Plan.id))),
        db.session.scalar(sa.select(sa.func.count(AuditLog.id))),
    )


def test_a_valid_form_creates_the_plan_and_audits_it(admin_client):
    response = post_new(admin_client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/plans/team"
    db.session.rollback()
    plan = db.session.get(Plan, "team")
    assert (plan.name, plan.name_ru, plan.price, plan.currency, plan.interval) == (
        "Team",
        "Команда",
        Decimal("990.00"),
        "RUB",
        "month",
    )
    assert plan.quotas == {
        "tokens_input": 2_000_000,
        "tokens_output": 1_000_000,
        "requests": 10_000,
    }
    assert plan.features == ["GPT-4o", "Claude 4.5 Sonnet"]
    assert (plan.display_order, plan.is_active, plan.plan_extra_metadata) == (3, True, None)
    entry = db.session.scalars(sa.select(AuditLog).where(AuditLog.entity_type == "plan")).one()
    assert (entry.action, entry.actor, entry.entity_id) == (
        "plan_created",
        "admin@example.com",
        "team",
    )
    assert entry.changes["price"] == {"old": None, "new": "990.00"}


# field, accepted value, refused value, message shown beside the field
FIELD_RULES = [
    ("id", "team-2_b", "Team Plan", "Use only lowercase letters, digits, '_' and '-'."),
    ("id", "t" * 64, "t" * 65, "Must be 1 to 64 characters."),
    ("name", "N" * 100, "N" * 101, "Must be 1 to 100 characters."),
    ("name", "Team", "   ", "Must be 1 to 100 characters."),
    ("name_ru", "И" * 100, "И" * 101, "Must be at most 100 characters."),
    ("description", "d" * 1000, "d" * 1001, "Must be at most 1,000 characters."),
    ("description_ru", "д" * 1000, "д" * 1001, "Must be at most 1,000 characters."),
    ("price", "0", "-1", "Must be 0 or more."),
    ("price", "99999999.99", "100000000", "Must be below 100,000,000."),
    ("price", "1,490.50", "490.505", "Use at most two decimal places."),
    ("price", "490.5", "abc", "Write numbers like 1,490.50."),
    ("price", "1", "", "Enter a number, like 490 or 490.50."),
    ("price", "1", "1e5", "Write numbers like 1,490.50."),
    ("price", "1,490", "1,49", "Write numbers like 1,490.50. Did you mean 149 or 1.49?"),
    ("price", "1 490.50", "490,50", "Write numbers like 1,490.50. Did you mean 49,050 or 490.5?"),
    ("currency", "EUR", "GBP", "Not a valid choice."),
    ("interval", "week", "fortnight", "Not a valid choice."),
    ("requests", "0", "-5", "Quota 'requests' must be a whole number from 0 to 1,000,000,000,000,000, or unlimited."),
    ("requests", "1 000", "1.5", "Write a whole number, like 5,000,000."),
    ("requests", "5,000,000", "5.000", "Write a whole number, like 5,000,000."),
    ("requests", "5\u202f000", "", "Enter a whole number, or tick Unlimited."),
    ("tokens_input", "1_000_000", "lots", "Write a whole number, like 5,000,000."),
    ("tokens_output", "5", "", "Enter a whole number, or tick Unlimited."),
    ("features", "a\n\n\nb", "x" * 201, "Each feature must be at most 200 characters."),
    ("features", "\n".join(["f"] * 50), "\n".join(["f"] * 51), "At most 50 features."),
    ("display_order", "0", "-1", "Must be a whole number from 0 to 1,000,000."),
    ("display_order", "7", "first", "Write a whole number, like 5,000,000."),
    ("display_order", "7", "", "Enter a whole number, like 0 or 5."),
    ("display_order", "1000000", "99999999999", "Must be a whole number from 0 to 1,000,000."),
    ("plan_extra_metadata", '{"promo": true}', '{"promo": tru}', "Not valid JSON: Expecting value at line 1, column 11."),
    ("plan_extra_metadata", "{}", "[1, 2]", "Must be a JSON object."),
    ("plan_extra_metadata", '{"a": "x"}', '{"a": "\\ud800"}', "Holds text that is not valid Unicode"),
    ("plan_extra_metadata", '{"a": 1.5}', '{"a": NaN}', "Not valid JSON: use plain numbers"),
    ("plan_extra_metadata", '{"a": 1e300}', '{"a": Infinity}', "Not valid JSON: use plain numbers"),
    ("plan_extra_metadata", '{"a": [[1]]}', "[" * 5_000, "Not valid JSON"),
    ("plan_extra_metadata", '{"a": 12345678901234567890}', '{"a": ' + "9" * 5000 + "}", "Not valid JSON: use plain numbers"),
    ("display_order", "7", "9" * 5000, "Write a whole number, like 5,000,000."),
    ("requests", "7", "9" * 5000, "Write a whole number, like 5,000,000."),
    ("plan_extra_metadata", '{"a":\n 1}', '{"a": 1,\n}', "Not valid JSON: Expecting property name enclosed in double quotes at line 2, column 1."),
]  # fmt: skip


@pytest.mark.parametrize(("field", "accepted", "refused", "message"), FIELD_RULES)
def test_field_rule_in_the_form(admin_client, field, accepted, refused, message):
    assert post_new(admin_client, **{field: accepted}).status_code == 302

    before = counts()
    response = post_new(admin_client, **{"id": "other", field: refused})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error_field = (
        "requests" if field in {"tokens_input", "tokens_output"} and "Quota" in message else field
    )
    assert message in field_error(html, error_field)
    assert counts() == before  # nothing written


def test_everything_typed_is_kept_when_the_form_returns(admin_client):
    html = post_new(
        admin_client,
        name="Keep <me>",
        price="not money",
        features="one\ntwo",
        plan_extra_metadata='{"a": 1',
        requests="12",
        requests_unlimited="y",
    ).get_data(as_text=True)
    assert 'value="Keep &lt;me&gt;"' in html
    assert 'value="not money"' in html
    assert textarea(html, "features") == "one\ntwo"
    assert textarea(html, "plan_extra_metadata") == '{"a": 1'
    assert re.search(
        r'id="requests_unlimited"[^>]*checked|checked[^>]*id="requests_unlimited"', html
    )


def test_a_blank_id_is_made_from_the_name(admin_client):
    assert (
        post_new(admin_client, id="", name="Pro Plus").headers["Location"]
        == "/admin/plans/pro_plus"
    )
    assert (
        post_new(admin_client, id="", name="Pro Plus").headers["Location"]
        == "/admin/plans/pro_plus_2"
    )
    assert post_new(admin_client, id="", name="Бизнес").headers["Location"] == "/admin/plans/biznes"


def test_a_blank_id_and_a_name_with_no_letters_is_refused(admin_client):
    html = post_new(admin_client, id="", name="!!!").get_data(as_text=True)
    assert "Enter an ID: none can be made from this name." in field_error(html, "id")


def test_a_duplicate_id_is_refused_with_the_reference_message(admin_client):
    add_plan("team")
    before = counts()
    response = post_new(admin_client)
    assert response.status_code == 422
    assert (
        field_error(response.get_data(as_text=True), "id") == "Plan with ID 'team' already exists"
    )
    assert counts() == before


def test_unlimited_choices(admin_client):
    post_new(admin_client, id="a", tokens_input_unlimited="y", tokens_input="")
    post_new(
        admin_client, id="b", unlimited_plan="y", tokens_input="", tokens_output="", requests=""
    )
    db.session.rollback()
    assert db.session.get(Plan, "a").quotas == {
        "tokens_input": None,
        "tokens_output": 1_000_000,
        "requests": 10_000,
    }
    assert db.session.get(Plan, "b").quotas is None


def test_inactive_and_metadata(admin_client):
    post_new(admin_client, is_active=None, plan_extra_metadata='{"promo": true, "code": "X"}')
    db.session.rollback()
    plan = db.session.get(Plan, "team")
    assert plan.is_active is False
    assert plan.plan_extra_metadata == {"promo": True, "code": "X"}


def test_every_field_has_a_label(admin_client):
    html = admin_client.get("/admin/plans/new").get_data(as_text=True)
    inputs = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    visible = [i for i in inputs if i not in {"csrf_token", "submission_token", "version"}]
    assert len(visible) >= 18
    for field_id in visible:
        assert f'<label for="{field_id}">' in html, field_id


def test_minus_zero_is_stored_as_zero(admin_client):
    assert post_new(admin_client, price="-0").status_code == 302
    db.session.rollback()
    assert str(db.session.get(Plan, "team").price) == "0.00"
    entry = db.session.scalars(sa.select(AuditLog).where(AuditLog.entity_type == "plan")).one()
    assert entry.changes["price"]["new"] == "0.00"
