"""Exports people open in Excel (issue 16): the subscriber CSV and .xlsx, written by
billing_admin/exports/. This module's app runs in Europe/Moscow (DISPLAY_TIMEZONE, the
zone Flask-Babel gives a request), so every time proves the admin's zone and offset are used."""

import contextvars
import io
from datetime import datetime

import openpyxl
import pytest
from flask.testing import FlaskClient

from billing_admin.exports.cells import neutralise
from billing_admin.extensions import db, limiter
from tests.helpers import add_plan, make_app, read_csv
from tests.subscriber_data import add_subscriber, bulk_subscribers

# 2026-01-01 01:30 in Moscow (UTC+3) is still 2025-12-31 22:30 in UTC.
NEW_YEAR_MOSCOW = 1_767_220_200
PERIOD_END = NEW_YEAR_MOSCOW + 30 * 86_400  # 2026-01-31 01:30 in Moscow
HEADER = [
    "user_id",
    "email",
    "name",
    "subscription_status",
    "subscribed_at",
    "current_period_end",
    "cancel_at_period_end",
]


@pytest.fixture
def empty_app(database_url):
    """The conftest's app, in Moscow."""
    app = make_app(database_url, DISPLAY_TIMEZONE="Europe/Moscow")
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    close_limiter_storage()


def close_limiter_storage() -> None:
    # As the conftest's app does: Flask-Limiter's Redis connections closed now, not at exit.
    client = getattr(getattr(limiter, "_storage", None), "storage", None)
    if client is not None and hasattr(client, "close"):
        client.close()


def download(client, url: str, **params):
    # buffered: the body is read inside the request's own context (it is streamed).
    response = client.get(url, query_string=params, buffered=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def csv_rows(client, url="/admin/plans/pro/subscribers.csv", **params) -> list[list[str]]:
    return read_csv(download(client, url, **params).get_data())


def workbook(client, url="/admin/plans/pro/subscribers.xlsx", **params):
    response = download(client, url, **params)
    return openpyxl.load_workbook(io.BytesIO(response.get_data())).active


# --- One cell ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+7 495", "'+7 495"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        (" =1+2", "' =1+2"),  # after a leading space
        ("\t=1+2", "'\t=1+2"),  # a tab
        ("\r=1+2", "'\r=1+2"),  # a carriage return
        ("\n=1+2", "'\n=1+2"),  # a line feed
        ("＝1+2", "'＝1+2"),  # full-width equals
        ("＋7", "'＋7"),  # full-width plus
        ("－2", "'－2"),  # full-width minus
        ("＠SUM(A1)", "'＠SUM(A1)"),  # full-width commercial at
        ('Ivan;=HYPERLINK("http://x")', 'Ivan;\'=HYPERLINK("http://x")'),  # Russian Excel's ";"
        ("Ivan; +1", "Ivan;' +1"),
        ("=1;=2", "'=1;'=2"),
        ("a=b", "a=b"),
        ("Ivan;Anna", "Ivan;Anna"),
        ("Анна", "Анна"),
        ("", ""),
    ],
)
def test_text_a_spreadsheet_would_run_is_neutralised(text, cell):
    assert neutralise(text) == cell


# --- CSV ---------------------------------------------------------------------------------------


def test_the_csv_starts_with_a_byte_order_mark_and_quotes_every_field(admin_client):
    add_plan("pro")
    add_subscriber("pro", name="Анна", email="anna@example.com", created_at=NEW_YEAR_MOSCOW)
    body = download(admin_client, "/admin/plans/pro/subscribers.csv").get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8's byte-order mark: Excel reads UTF-8
    header, row = body.decode("utf-8-sig").split("\r\n")[:2]
    assert header == ",".join(f'"{name}"' for name in HEADER)
    fields = row.split(",")
    assert len(fields) == len(HEADER)
    assert all(field.startswith('"') and field.endswith('"') for field in fields)
    assert '"Анна"' in fields and '"false"' in fields


def test_csv_times_are_iso_8601_with_the_admin_zones_offset(admin_client):
    add_plan("pro")
    add_subscriber("pro", created_at=NEW_YEAR_MOSCOW, current_period_end=PERIOD_END)
    [_, row] = csv_rows(admin_client)
    assert row[4:6] == ["2026-01-01T01:30:00+03:00", "2026-01-31T01:30:00+03:00"]
    assert datetime.fromisoformat(row[4]).timestamp() == NEW_YEAR_MOSCOW


def test_the_api_keeps_unix_seconds(admin_client):
    add_plan("pro")
    add_subscriber("pro", created_at=NEW_YEAR_MOSCOW)
    item = admin_client.get("/api/v1/admin/billing/plans/pro/subscribers").get_json()["items"][0]
    assert item["subscribed_at"] == NEW_YEAR_MOSCOW


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        (" =1+2", "' =1+2"),
        ("\n=1+2", "'\n=1+2"),
        ("＝1+2", "'＝1+2"),
        ('Ivan;=HYPERLINK("http://x")', 'Ivan;\'=HYPERLINK("http://x")'),
    ],
)
def test_csv_names_that_would_run_are_neutralised(admin_client, name, cell):
    add_plan("pro")
    add_subscriber("pro", name=name)
    assert csv_rows(admin_client)[1][2] == cell
    assert csv_rows(admin_client, "/admin/subscribers.csv")[1][2] == cell


def test_the_csv_of_every_plan_has_the_plan_and_moscow_times(admin_client):
    add_plan("pro")
    add_subscriber("pro", created_at=NEW_YEAR_MOSCOW)
    rows = csv_rows(admin_client, "/admin/subscribers.csv")
    assert rows[0] == [*HEADER, "plan_id"]
    assert rows[1][4] == "2026-01-01T01:30:00+03:00" and rows[1][-1] == "pro"


# --- .xlsx -------------------------------------------------------------------------------------


def test_xlsx_cells_are_text_dates_and_booleans(admin_client):
    add_plan("pro")
    made = add_subscriber(
        "pro",
        name='=HYPERLINK("http://x","Анна")',
        email="anna@example.com",
        created_at=NEW_YEAR_MOSCOW,
        current_period_end=PERIOD_END,
        cancel_at_period_end=True,
    )
    sheet = workbook(admin_client)
    header, row = list(sheet.iter_rows(values_only=False))
    assert [cell.value for cell in header] == [
        *HEADER[:4],
        "subscribed_at (Europe/Moscow)",
        "current_period_end (Europe/Moscow)",
        "cancel_at_period_end",
    ]
    user_id, email, name, status, subscribed, period_end, cancels = row
    # Text is stored as text, as typed: no formula, no apostrophe.
    assert name.data_type == "s" and name.value == '=HYPERLINK("http://x","Анна")'
    assert (user_id.value, email.value, status.value) == (made.user_id, made.email, "active")
    # Dates are dates, in Moscow's wall-clock time (Excel's dates have no zone).
    assert subscribed.is_date and subscribed.value == datetime(2026, 1, 1, 1, 30)
    assert period_end.is_date and period_end.value == datetime(2026, 1, 31, 1, 30)
    assert "yyyy-mm-dd" in subscribed.number_format
    assert cancels.data_type == "b" and cancels.value is True


@pytest.mark.parametrize("text", ["+7 495", "-2", "@SUM(A1)", "1e5", "0012", "http://x"])
def test_xlsx_text_that_looks_like_something_else_stays_text(admin_client, text):
    add_plan("pro")
    add_subscriber("pro", name=text)
    name = next(workbook(admin_client).iter_rows(min_row=2))[2]
    assert (name.data_type, name.value) == ("s", text)


def test_the_xlsx_of_every_plan_keeps_the_filters(admin_client):
    add_plan("pro")
    add_plan("free")
    add_subscriber("pro", email="anna@example.com", status="active")
    add_subscriber("free", email="boris@example.com", status="paused")
    sheet = workbook(admin_client, "/admin/subscribers.xlsx", status="paused")
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(row[1], row[-1]) for row in rows] == [("boris@example.com", "free")]


def test_the_xlsx_is_named_like_the_csv(admin_client):
    add_plan("pro")
    response = download(admin_client, "/admin/plans/pro/subscribers.xlsx")
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="pro-subscribers-'
    )
    assert response.headers["Content-Disposition"].endswith('.xlsx"')


def test_the_xlsx_is_streamed_in_pieces(admin_client):
    add_plan("pro")
    bulk_subscribers("pro", 3000)
    context = contextvars.Context()
    response = context.run(
        FlaskClient.open, admin_client, "/admin/plans/pro/subscribers.xlsx", method="GET"
    )
    assert response.status_code == 200 and response.is_streamed
    assert "Content-Length" not in response.headers
    chunks = context.run(lambda: list(response.iter_encoded()))
    context.run(response.close)
    assert len(chunks) > 1
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(chunks)), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows(min_row=2)) == 3000


def test_the_xlsx_of_an_unknown_plan_is_a_404(admin_client):
    assert admin_client.get("/admin/plans/nope/subscribers.xlsx").status_code == 404


def test_each_subscriber_page_links_csv_and_xlsx_with_its_filters(admin_client):
    add_plan("pro")
    html = admin_client.get("/admin/plans/pro/subscribers?status=active").get_data(as_text=True)
    assert 'href="/admin/plans/pro/subscribers.csv?status=active"' in html
    assert 'href="/admin/plans/pro/subscribers.xlsx?status=active"' in html
    html = admin_client.get("/admin/subscribers?status=paused").get_data(as_text=True)
    assert 'href="/admin/subscribers.csv?status=paused"' in html
    assert 'href="/admin/subscribers.xlsx?status=paused"' in html


def test_on_sqlite_the_walk_uses_a_small_page_cache_then_the_usual_one(app):
    from billing_admin import sqlite
    from billing_admin.subscribers.service import SubscriberFilter, iter_subscribers

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")
    add_plan("pro")
    bulk_subscribers("pro", 3)

    def cache_size() -> int:
        return db.session.connection().exec_driver_sql("PRAGMA cache_size").scalar()

    usual = cache_size()
    assert usual == -sqlite.CACHE_KIB
    rows = iter_subscribers(SubscriberFilter.parse("pro", None, None))
    next(rows)
    assert cache_size() == -sqlite.WALK_CACHE_KIB  # the rows it reads once do not fill it
    assert len(list(rows)) == 2
    assert cache_size() == usual
