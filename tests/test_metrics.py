"""/metrics: the Prometheus text format with request, latency, database-error and sign-in
figures, and subscriptions and MRR read through the plan service (the counts table)."""

from decimal import Decimal

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from billing_admin.dashboard.service import overview
from billing_admin.extensions import db
from billing_admin.plans import service as plans_service
from tests.helpers import ADMIN_PASSWORD, add_plan, add_subscription, add_user


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values


def test_requests_are_counted_by_endpoint_method_and_status(admin_client):
    labels = {"endpoint": "plans.index", "method": "GET", "status": "200"}
    before = sample("billing_admin_http_requests_total", **labels)
    latency_before = sample(
        "billing_admin_http_request_duration_seconds_count", endpoint="plans.index", method="GET"
    )
    for _ in range(3):
        admin_client.get("/admin/plans")
    assert sample("billing_admin_http_requests_total", **labels) == before + 3
    assert (
        sample(
            "billing_admin_http_request_duration_seconds_count",
            endpoint="plans.index",
            method="GET",
        )
        == latency_before + 3
    )


def test_unrouted_urls_share_one_series(client, app):
    labels = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    before = sample("billing_admin_http_requests_total", **labels)
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")
    assert sample("billing_admin_http_requests_total", **labels) == before + 2
    assert not any("no/such" in str(m) for m in REGISTRY.collect() for m in m.samples)


def test_refused_requests_are_counted_too(client, app):
    labels = {"endpoint": "dashboard.home", "method": "GET", "status": "302"}
    before = sample("billing_admin_http_requests_total", **labels)
    assert client.get("/admin/").status_code == 302  # to the sign-in page
    assert sample("billing_admin_http_requests_total", **labels) == before + 1


def test_sign_in_outcomes(client, admin, auth, set_clock):
    # The clock is pinned: on a loaded machine more than the one-second delay could pass
    # between the fifth failure and the sixth try, and the sixth would then be checked.
    set_clock(1_800_000_000)

    def outcomes():
        return {
            o: sample("billing_admin_sign_ins_total", outcome=o)
            for o in ("success", "failure", "throttled")
        }

    before = outcomes()
    auth.login(password="wrong password!")
    assert outcomes()["failure"] == before["failure"] + 1
    for _ in range(4):
        auth.login(password="wrong password!")
    failed = outcomes()
    assert failed["failure"] == before["failure"] + 5  # five failures an hour are free
    # The sixth try comes before the account's delay is over: refused unchecked.
    assert auth.login(password=ADMIN_PASSWORD).status_code == 200
    assert outcomes()["throttled"] == failed["throttled"] + 1
    add_user("second@example.com", ADMIN_PASSWORD, role="admin")
    assert auth.login("second@example.com").status_code == 302
    assert outcomes() == {
        "failure": before["failure"] + 5,
        "throttled": before["throttled"] + 1,
        "success": before["success"] + 1,
    }


def test_database_errors_are_counted(admin_client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def unavailable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    before = sample("billing_admin_database_errors_total", kind="unavailable")
    monkeypatch.setattr(plans_service, "plan_summaries", unavailable)
    monkeypatch.setattr(
        "billing_admin.plans.views.service.plan_summaries", unavailable, raising=False
    )
    response = admin_client.get("/admin/plans")
    assert response.status_code == 503
    assert sample("billing_admin_database_errors_total", kind="unavailable") == before + 1


def test_subscriptions_and_mrr_gauges_follow_the_plan_service(app, client):
    add_plan("pro", price=Decimal("1490.00"))
    add_plan("yearly", price=Decimal("12000.00"), interval="year")
    add_plan("euro", price=Decimal("10.00"), currency="EUR")
    for status in ("active", "active", "trialing", "canceled"):
        add_subscription("pro", status)
    add_subscription("yearly", "active")
    add_subscription("euro", "active")
    db.session.commit()
    values = scrape(client)
    assert values[("billing_admin_subscriptions", (("plan", "pro"), ("status", "active")))] == 2
    assert values[("billing_admin_subscriptions", (("plan", "pro"), ("status", "trialing")))] == 1
    assert values[("billing_admin_subscriptions", (("plan", "pro"), ("status", "paused")))] == 0
    assert values[("billing_admin_subscriptions", (("plan", "yearly"), ("status", "active")))] == 1
    expected = {c: float(a) for c, a in overview().mrr_by_currency.items()}
    assert expected == {"EUR": 10.0, "RUB": 2 * 1490.0 + 1000.0}
    assert values[("billing_admin_mrr", (("currency", "RUB"),))] == expected["RUB"]
    assert values[("billing_admin_mrr", (("currency", "EUR"),))] == expected["EUR"]


def test_the_gauges_change_when_the_service_does(app, client, monkeypatch):
    """Read through plan_summaries, not SQL of their own: a different MRR there shows here."""
    add_plan("pro")
    add_subscription("pro", "active")
    db.session.commit()
    real = plans_service.plan_summaries

    def doubled(*args, **kwargs):
        from dataclasses import replace

        return [
            replace(s, mrr={currency: amount * 2 for currency, amount in s.mrr.items()})
            for s in real(*args, **kwargs)
        ]

    monkeypatch.setattr("billing_admin.metrics.collector.plan_summaries", doubled)
    assert scrape(client)[("billing_admin_mrr", (("currency", "RUB"),))] == 2 * 1490.0


@pytest.mark.parametrize("subscriptions", [10, 200])
def test_a_scrape_costs_the_same_statements_at_any_size(app, client, subscriptions):
    add_plan("pro")
    add_plan("basic")
    for n in range(subscriptions):
        add_subscription("pro" if n % 2 else "basic", "active")
    db.session.commit()
    selects = []

    def watch(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", watch)
    try:
        assert client.get("/metrics").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", watch)
    assert len(selects) == 2  # the plans, the counts table
    assert "billing_subscription " not in " ".join(selects)


def test_metrics_without_a_database_still_answer(app_factory):
    client = app_factory().test_client()  # no tables at all
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "billing_admin_http_requests_total" in text
    assert "billing_admin_mrr" not in text
