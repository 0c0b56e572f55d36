"""Request ids (generated, or the trusted proxy's when well formed) in the response header,
every log line and error pages; text or JSON log lines; no secret in any line."""

import io
import json
import logging
import re

import pytest
from sqlalchemy.exc import OperationalError

from billing_admin.auth.tokens import create_api_token
from billing_admin.logs.handler import APP_LOGGER, redact
from billing_admin.plans import service as plans_service
from tests.helpers import ADMIN_EMAIL, ADMIN_PASSWORD, AuthActions

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines():
    """Everything the app's own handler writes from now on, line by line."""
    [handler] = [
        h for h in logging.getLogger(APP_LOGGER).handlers if getattr(h, "billing_admin", False)
    ]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: stream.getvalue().splitlines()
    handler.setStream(previous)


def test_every_response_gets_a_new_id(client, app):
    ids = [
        client.get(path).headers["X-Request-ID"]
        for path in ("/healthz", "/healthz", "/login", "/nowhere")
    ]
    assert all(GENERATED.fullmatch(i) for i in ids)
    assert len(set(ids)) == 4


def test_a_proxy_id_is_ignored_when_no_proxy_is_trusted(client, app):
    response = client.get("/healthz", headers={"X-Request-ID": "from-a-client-1234"})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


@pytest.mark.parametrize(
    "given", ["a", "0f8c2a1e-5b8d-4c1e-9a3f-1b2c3d4e5f60", "nginx:abc.def_42", "x" * 128]
)
def test_the_trusted_proxys_well_formed_id_is_kept(app_factory, given):
    client = app_factory(TRUSTED_PROXIES=1).test_client()
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given",
    [
        "",
        "x" * 129,
        "two words",
        'quote"d',
        "semi;colon",
        "line\\nbreak",
        "<script>",
        "кириллица",
        "tab\there",
        "a=b",
    ],
)
def test_a_malformed_id_from_the_proxy_is_replaced(app_factory, given, log_lines):
    client = app_factory(TRUSTED_PROXIES=1).test_client()
    response = client.post(
        "/login", headers={"X-Request-ID": given}, data={"email": "x@example.com", "password": "p"}
    )
    assert GENERATED.fullmatch(response.headers["X-Request-ID"]), given
    assert all(given not in line for line in log_lines() if given)


def test_error_pages_show_the_id_to_quote_in_both_languages(admin_client):
    english = admin_client.get("/admin/plans/nope")
    assert english.status_code == 404
    request_id = english.headers["X-Request-ID"]
    assert f"If you report this, quote this id: <code>{request_id}</code>" in english.get_data(
        as_text=True
    )
    russian = admin_client.get("/admin/plans/nope", headers={"Accept-Language": "ru"})
    html = russian.get_data(as_text=True)
    assert f"<code>{russian.headers['X-Request-ID']}</code>" in html
    assert "quote this id" not in html
    assert "Сообщая об ошибке, назовите этот номер:" in html


def test_a_database_outage_page_shows_the_id_too(admin_client, monkeypatch):
    def unavailable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(plans_service, "plan_summaries", unavailable)
    response = admin_client.get("/admin/plans")
    assert response.status_code == 503
    assert f"<code>{response.headers['X-Request-ID']}</code>" in response.get_data(as_text=True)


def test_each_log_line_names_the_request_and_the_admin(admin_client, admin, monkeypatch, log_lines):
    def unavailable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(plans_service, "plan_summaries", unavailable)
    response = admin_client.get("/admin/plans")
    request_id = response.headers["X-Request-ID"]
    [line] = [line for line in log_lines() if "database unavailable" in line]
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} ERROR billing_admin request_id={request_id} "
        rf"admin_id={admin.id}: database unavailable on GET /admin/plans: connection refused",
        line,
    ), line


def test_lines_outside_a_request_say_so(app, log_lines):
    logging.getLogger("billing_admin.test").warning("started")
    assert log_lines()[-1].endswith("WARNING billing_admin.test request_id=- admin_id=-: started")


def test_json_lines(app_factory, admin):
    client = app_factory(LOG_FORMAT="json").test_client()
    [handler] = [
        h for h in logging.getLogger(APP_LOGGER).handlers if getattr(h, "billing_admin", False)
    ]
    stream = io.StringIO()
    handler.setStream(stream)
    response = AuthActions(client).login(password="wrong password")
    request_id = response.headers["X-Request-ID"]
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("billing_admin.test").exception("outside")
    log_lines_json = [json.loads(line) for line in stream.getvalue().splitlines()]
    failed = next(entry for entry in log_lines_json if "sign-in failed" in entry["message"])
    assert set(failed) == {"timestamp", "level", "logger", "request_id", "admin_id", "message"}
    assert (failed["level"], failed["logger"], failed["request_id"], failed["admin_id"]) == (
        "WARNING",
        "billing_admin.auth",
        request_id,
        None,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", failed["timestamp"])
    outside = log_lines_json[-1]
    assert outside["request_id"] is None
    assert "ValueError: boom" in outside["exception"]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_reaches_any_line(app_factory, admin, log_format, caplog):
    """Sign-ins (right and wrong passwords), API calls with good, revoked and unknown tokens,
    metrics with its token, forms with CSRF tokens, at DEBUG: every line of our handler and of
    every logger (caplog) is free of each secret."""
    metrics_token = "metrics-token-" + "q" * 24
    app = app_factory(LOG_FORMAT=log_format, LOG_LEVEL="DEBUG", METRICS_TOKEN=metrics_token)
    [handler] = [
        h for h in logging.getLogger(APP_LOGGER).handlers if getattr(h, "billing_admin", False)
    ]
    stream = io.StringIO()
    handler.setStream(stream)
    with app.app_context():
        _, api_token = create_api_token("script", ADMIN_EMAIL)
    client = app.test_client()
    auth = AuthActions(client)
    secrets = [
        ADMIN_PASSWORD,
        "my wrong password 123",
        api_token,
        metrics_token,
        app.config["SECRET_KEY"],
    ]
    with caplog.at_level(logging.DEBUG):
        auth.login(password="my wrong password 123")
        auth.login()
        secrets.append(auth.csrf_token("/admin/"))
        secrets.append(client.get_cookie("session").value)
        client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {api_token}"})
        client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {api_token}x"})
        client.get(
            "/metrics",
            headers={"Authorization": f"Bearer {metrics_token}", "X-Forwarded-For": "203.0.113.1"},
        )
        auth.logout()
    lines = stream.getvalue().splitlines() + [record.getMessage() for record in caplog.records]
    assert any("sign-in failed" in line for line in lines)
    for secret in secrets:
        assert all(secret not in line for line in lines), secret


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token bat_AbCdEfGh12345678_-x leaked", "token bat_[redacted] leaked"),
        ("Authorization: Bearer abc.def-123", "Authorization: Bearer [redacted]"),
        (
            "postgresql+psycopg://billing:s3cret@db:5432/x",
            "postgresql+psycopg://billing:[redacted]@db:5432/x",
        ),
        ("password=hunter2&email=a@b.c", "password=[redacted]&email=a@b.c"),
        ("{'csrf_token': 'IjA5Y2...'}", "{'csrf_token': '[redacted]'}"),
        ("SECRET_KEY=abc123", "SECRET_KEY=[redacted]"),
        ("sign-in failed for 'a@b.c' from 127.0.0.1", "sign-in failed for 'a@b.c' from 127.0.0.1"),
    ],
)
def test_secrets_that_reach_a_message_by_mistake_are_redacted(text, expected):
    assert redact(text) == expected
