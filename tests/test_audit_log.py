"""The audit log page reads well (issue 16): the plan form's labels instead of field keys,
money and quotas as the other pages write them, plan ids linked to their plans, a date range
in the admin's time zone, and CSV and .xlsx exports of the filtered entries. This module's app
runs in Europe/Moscow (DISPLAY_TIMEZONE, the zone Flask-Babel gives a request), so the days
are Moscow's, not UTC's."""

import io
import re
import time
from datetime import datetime
from html import unescape

import openpyxl
import pytest

from billing_admin.audit import queries
from billing_admin.audit.service import Actor, record_plan_change
from billing_admin.extensions import db, limiter
from billing_admin.plans.forms import PlanForm
from billing_admin.plans.labels import FORM_FIELD_LABELS, form_field_label
from tests.helpers import add_plan, make_app, read_csv

# Around midnight of 1 January 2026 in Moscow (UTC+3), which is 21:00 UTC on 31 December.
BEFORE = 1_767_214_740  # 2025-12-31 23:59 Moscow
FIRST = 1_767_214_800  # 2026-01-01 00:00 Moscow
LAST = 1_767_301_199  # 2026-01-01 23:59:59 Moscow
AFTER = 1_767_301_200  # 2026-01-02 00:00 Moscow
PLANS = "kind=plans&page_size=100"


@pytest.fixture
def empty_app(database_url):
    """The conftest's app, in Moscow."""
    app = make_app(database_url, DISPLAY_TIMEZONE="Europe/Moscow")
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    client = getattr(getattr(limiter, "_storage", None), "storage", None)
    if client is not None and hasattr(client, "close"):
        client.close()


def record_at(set_clock, epoch: int, plan_id: str, changes: dict, action="plan_updated"):
    set_clock(epoch)
    record_plan_change(action, plan_id, changes, actor=Actor("ops@example.com"))
    db.session.commit()
    set_clock(int(time.time()))  # back to now: the admin's session stays valid


@pytest.fixture
def around_midnight(admin_client, set_clock):
    """One plan entry a minute before, at, at the end of and after 1 January in Moscow; each
    renames plan p to "at <epoch>"."""
    for epoch in (BEFORE, FIRST, LAST, AFTER):
        record_at(set_clock, epoch, "p", {"name": {"old": "x", "new": f"at {epoch}"}})
    return admin_client


def page(client, query: str = "", language: str = "en") -> str:
    response = client.get(f"/admin/audit?{query}", headers={"Accept-Language": language})
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<ins>at (\d+)</ins>", html)]


# --- Labels and values -------------------------------------------------------------------------


def test_fields_show_by_the_plan_forms_labels(admin_client, set_clock):
    add_plan("pro")
    changes = {
        "name_ru": {"old": "Про", "new": "Профи"},
        "plan_extra_metadata": {"old": None, "new": {"promo": True}},
        "is_active": {"old": True, "new": False},
    }
    record_at(set_clock, FIRST, "pro", changes)
    html = page(admin_client, PLANS)
    assert "<dt>Name in Russian</dt>" in html
    assert "<dt>Extra metadata (JSON object)</dt>" in html
    assert "<dt>Active (offered to new subscribers)</dt>" in html
    assert not re.search(r"<dt>(name_ru|plan_extra_metadata|is_active)</dt>", html)
    assert "<del>yes</del>" in html and "<ins>no</ins>" in html


def test_the_audit_labels_are_the_plan_forms_own(app):
    with app.test_request_context():
        form = PlanForm()
        for name in FORM_FIELD_LABELS:
            if name in form:
                assert form_field_label(name) == str(form[name].label.text), name


def test_prices_are_money_in_the_plans_currency_and_quotas_are_grouped(admin_client, set_clock):
    add_plan("pro")
    quotas = {"tokens_input": 1_000_000, "tokens_output": 500_000, "requests": 5_000}
    changes = {
        "price": {"old": "1490.00", "new": "1590.50"},
        "quotas": {"old": quotas, "new": None},
        "display_order": {"old": 0, "new": 1500},
    }
    record_at(set_clock, FIRST, "pro", changes)
    html = page(admin_client, PLANS)
    assert "<del>RUB\xa01,490.00</del>" in html and "<ins>RUB\xa01,590.50</ins>" in html
    assert "<del>Input tokens: 1,000,000 · Output tokens: 500,000 · Requests: 5,000</del>" in html
    assert "<ins>Unlimited</ins>" in html  # quotas removed: an unlimited plan
    assert "<ins>1,500</ins>" in html


def test_a_price_follows_a_currency_changed_in_the_same_entry(admin_client, set_clock):
    add_plan("pro")
    changes = {
        "price": {"old": "1490.00", "new": "19.99"},
        "currency": {"old": "RUB", "new": "USD"},
    }
    record_at(set_clock, FIRST, "pro", changes)
    html = page(admin_client, PLANS)
    assert "<del>RUB\xa01,490.00</del>" in html and "<ins>$19.99</ins>" in html


def test_a_created_plan_has_no_old_values_not_unlimited_ones(admin_client, set_clock):
    quotas = {"tokens_input": 10, "tokens_output": 20, "requests": 30}
    record_at(set_clock, FIRST, "gone", {"quotas": {"old": None, "new": quotas}}, "plan_created")
    html = page(admin_client, PLANS)
    assert "<ins>Input tokens: 10 · Output tokens: 20 · Requests: 30</ins>" in html
    assert "<del>" not in html


def test_plan_ids_link_to_the_plan_while_it_exists(admin_client, set_clock):
    add_plan("pro")
    record_at(set_clock, FIRST, "pro", {"name": {"old": "a", "new": "b"}})
    record_at(set_clock, FIRST, "gone", {"name": {"old": "a", "new": "b"}})
    html = admin_client.get(f"/admin/audit?{PLANS}").get_data(as_text=True)
    assert '<a href="/admin/plans/pro"><code>pro</code></a>' in html
    assert "<code>gone</code>" in html and 'href="/admin/plans/gone"' not in html
    # Each still filters the log to its entries.
    assert 'href="/admin/audit?kind=plans&amp;page_size=100&amp;plan=gone"' in html


def test_the_page_in_russian(admin_client, set_clock):
    add_plan("pro")
    changes = {"name_ru": {"old": "Про", "new": "Профи"}, "price": {"old": "1490", "new": "990"}}
    record_at(set_clock, FIRST, "pro", changes)
    html = page(admin_client, PLANS + "&from=2026-13-01", language="ru")
    assert "<dt>Название на русском</dt>" in html
    assert "<del>1\xa0490,00\xa0₽</del>" in html and "<ins>990,00\xa0₽</ins>" in html
    assert "Введите дату в виде ГГГГ-ММ-ДД, например 2026-01-31." in html
    assert "Скачать CSV" in html and "Скачать XLSX" in html


# --- The date range ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ("from=2026-01-01&to=2026-01-01", [LAST, FIRST]),  # one whole day, Moscow's
        ("from=2026-01-01", [AFTER, LAST, FIRST]),
        ("to=2025-12-31", [BEFORE]),
        ("from=2026-01-02&to=2026-01-05", [AFTER]),
        ("", [AFTER, LAST, FIRST, BEFORE]),
    ],
)
def test_days_are_the_admins_whole_days(around_midnight, dates, expected):
    assert shown(page(around_midnight, f"{PLANS}&{dates}")) == expected


@pytest.mark.parametrize(
    ("dates", "field", "typed"),
    [
        ("from=2026-13-45", "from", "2026-13-45"),
        ("to=yesterday", "to", "yesterday"),
        ("from=31.12.2025", "from", "31.12.2025"),
        ("to=2026-02-30", "to", "2026-02-30"),
        ("from=<b>", "from", "<b>"),
    ],
)
def test_a_value_that_is_not_a_date_is_kept_with_a_message(around_midnight, dates, field, typed):
    response = around_midnight.get(f"/admin/audit?{PLANS}&{dates}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    message = "Enter a date as YYYY-MM-DD, like 2026-01-31."
    assert f'<small id="{field}-errors" class="field-error">{message}</small>' in html
    field_html = re.search(rf'<input id="{field}"[^>]*>', html).group(0)
    assert 'type="text"' in field_html and 'aria-invalid="true"' in field_html
    assert unescape(re.search(r'value="([^"]*)"', field_html).group(1)) == typed
    # The bad bound is not applied: every entry is shown.
    assert shown(unescape(html)) == [AFTER, LAST, FIRST, BEFORE]


def test_a_start_after_the_end_is_refused_by_the_end_and_both_are_kept(around_midnight):
    html = page(around_midnight, f"{PLANS}&from=2026-01-02&to=2026-01-01")
    assert (
        '<small id="to-errors" class="field-error">The end date is before the start date.</small>'
        in html
    )
    assert re.search(r'<input id="from"[^>]*value="2026-01-02"', html)
    assert re.search(r'<input id="to"[^>]*value="2026-01-01"', html)
    assert shown(html) == [AFTER, LAST, FIRST, BEFORE]


def test_the_extreme_days_answer(around_midnight):
    assert shown(page(around_midnight, f"{PLANS}&from=0001-01-01&to=9999-12-31")) == [
        AFTER,
        LAST,
        FIRST,
        BEFORE,
    ]


def test_page_links_and_export_links_keep_the_days(around_midnight):
    html = page(around_midnight, "kind=plans&from=2026-01-01&to=2026-01-01&page_size=5")
    assert "/admin/audit/export.csv?kind=plans&from=2026-01-01&to=2026-01-01" in html
    assert "/admin/audit/export.xlsx?kind=plans&from=2026-01-01&to=2026-01-01" in html
    for link in re.findall(r'href="(/admin/audit\?[^"]*page=\d+[^"]*)"', html):
        assert "from=2026-01-01" in link and "to=2026-01-01" in link, link


# --- Exports -----------------------------------------------------------------------------------


def export(client, file_format: str, query: str):
    response = client.get(f"/admin/audit/export.{file_format}?{query}", buffered=True)
    assert response.status_code == 200
    assert re.fullmatch(
        rf'attachment; filename="audit-log-\d{{4}}-\d{{2}}-\d{{2}}\.{file_format}"',
        response.headers["Content-Disposition"],
    )
    return response.get_data()


def test_the_csv_is_the_filtered_entries_in_moscow_time(around_midnight):
    body = export(around_midnight, "csv", "kind=plans&from=2026-01-01&to=2026-01-01")
    assert body.startswith(b"\xef\xbb\xbf")
    rows = read_csv(body)
    assert rows[0] == [
        "id",
        "created_at",
        "actor",
        "action",
        "entity_type",
        "entity_id",
        "description",
        "changes",
        "metadata",
    ]
    assert [row[1] for row in rows[1:]] == [
        "2026-01-01T23:59:59+03:00",
        "2026-01-01T00:00:00+03:00",
    ]
    assert rows[1][2:6] == ["ops@example.com", "plan_updated", "plan", "p"]
    assert rows[1][7] == f'{{"name": {{"old": "x", "new": "at {LAST}"}}}}'
    assert body.decode("utf-8-sig").split("\r\n")[1].startswith('"')  # every field quoted


def test_the_csv_neutralises_formulas_in_entries(admin_client, set_clock):
    set_clock(FIRST)
    record_plan_change("plan_updated", "p", None, actor=Actor("=cmd|' /C calc'!A0"))
    db.session.commit()
    set_clock(int(time.time()))
    rows = read_csv(export(admin_client, "csv", PLANS))
    assert rows[1][2] == "'=cmd|' /C calc'!A0"


def test_the_xlsx_is_the_filtered_entries_with_dates(around_midnight):
    body = export(around_midnight, "xlsx", "kind=plans&from=2026-01-01&to=2026-01-01")
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    header, *rows = list(sheet.iter_rows())
    assert header[1].value == "created_at (Europe/Moscow)"
    assert [row[1].value for row in rows] == [
        datetime(2026, 1, 1, 23, 59, 59),
        datetime(2026, 1, 1, 0, 0),
    ]
    assert all(row[1].is_date for row in rows)
    assert rows[0][0].data_type == "n" and rows[0][2].data_type == "s"


def test_the_export_reads_every_entry_in_batches(around_midnight, monkeypatch):
    monkeypatch.setattr(queries, "EXPORT_BATCH", 3)
    body = export(around_midnight, "csv", PLANS)
    rows = read_csv(body)
    expected = [AFTER, LAST, FIRST, BEFORE]
    assert [int(datetime.fromisoformat(row[1]).timestamp()) for row in rows[1:]] == expected


def test_the_export_ignores_a_bad_day_as_the_page_does(around_midnight):
    body = export(around_midnight, "csv", f"{PLANS}&from=nonsense&to=2026-01-01")
    rows = read_csv(body)
    assert len(rows) == 1 + 3  # to the end of 1 January; the bad start is not applied
