"""Issue 13 in a real browser, against gunicorn: from a plan's subscriber table to one
subscription's page, then changing its plan through the form, the confirmation of what will
change, and the page after it, with its history. Checked against the database file.
"""

import re
import sqlite3
import uuid

from playwright.sync_api import expect

from tests.browser.test_journeys import flash, query

FROM_PLAN, TO_PLAN = "journey_from", "journey_to"
EMAIL = "journey-subscriber@example.com"


def create_plan(page, plan_id: str, name: str, price: str) -> None:
    page.goto("/admin/plans/new")
    page.get_by_label("ID", exact=True).fill(plan_id)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Price", exact=True).fill(price)
    page.get_by_label("Unlimited plan (no quotas at all)").check()
    page.get_by_role("button", name="Create plan").click()
    expect(page).to_have_url(re.compile(rf"/admin/plans/{plan_id}$"))


def add_subscriber(server, plan_id: str, email: str = EMAIL, created_at: int = 1) -> str:
    """One user with an active subscription, written as the platform would."""
    connection = sqlite3.connect(server.database_path)
    subscription_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        with connection:
            (price_id,) = connection.execute(
                "SELECT id FROM billing_price WHERE plan_id = ? AND active_until IS NULL",
                (plan_id,),
            ).fetchone()
            connection.execute(
                'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
                "VALUES (?, ?, 'Journey Person', 'user', 1, ?)",
                (user_id, email, uuid.uuid4().hex),
            )
            connection.execute(
                "INSERT INTO billing_subscription (id, user_id, plan_id, price_id, status, "
                "current_period_start, current_period_end, cancel_at_period_end, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, 'active', 1, 4102444800, 0, ?, ?)",
                (subscription_id, user_id, plan_id, price_id, created_at, created_at),
            )
    finally:
        connection.close()
    return subscription_id


def test_change_a_subscriptions_plan_with_its_confirmation(signed_in_page, live_server):
    page = signed_in_page
    create_plan(page, FROM_PLAN, "Journey From", "100")
    create_plan(page, TO_PLAN, "Journey To", "250")
    subscription_id = add_subscriber(live_server, FROM_PLAN)

    # From the plan's subscriber table to the subscription's page.
    page.goto(f"/admin/plans/{FROM_PLAN}/subscribers")
    page.get_by_role("link", name=EMAIL).click()
    expect(page).to_have_url(re.compile(rf"/admin/subscriptions/{subscription_id}$"))
    facts = page.locator("table.subscription-facts")
    expect(facts).to_contain_text("Journey Person")
    expect(facts).to_contain_text("RUB\u00a0100.00 / month")
    expect(facts).to_contain_text("(version 1)")

    # The form, then what will change, and nothing written before the confirmation.
    page.get_by_role("button", name="Change plan…").click()
    page.get_by_label("New plan").select_option(TO_PLAN)
    page.get_by_role("button", name="Review the change").click()
    confirmation = page.locator("section.confirmation table")
    expect(confirmation).to_contain_text(FROM_PLAN)
    expect(confirmation).to_contain_text(TO_PLAN)
    expect(confirmation).to_contain_text("RUB\u00a0250.00 / month")
    assert query(
        live_server, "SELECT plan_id FROM billing_subscription WHERE id = ?", subscription_id
    ) == [(FROM_PLAN,)]
    page.get_by_role("button", name="Change the plan").click()

    # Done: the page says so, shows the new plan and price, and its history.
    expect(page).to_have_url(re.compile(rf"/admin/subscriptions/{subscription_id}$"))
    expect(flash(page)).to_have_text("Plan changed.")
    expect(facts).to_contain_text("Journey To")
    expect(facts).to_contain_text("RUB\u00a0250.00 / month")
    expect(facts).to_contain_text("(version 2)")
    expect(page.locator(".history")).to_contain_text("plan changed")
    expect(page.locator(".history")).to_contain_text("RUB\u00a0100.00 / month")
    assert query(
        live_server,
        "SELECT plan_id, version FROM billing_subscription WHERE id = ?",
        subscription_id,
    ) == [(TO_PLAN, 2)]
    counts = query(
        live_server,
        "SELECT plan_id, status, count FROM billing_plan_subscription_count "
        "WHERE plan_id IN (?, ?) AND count <> 0 ORDER BY plan_id",
        FROM_PLAN,
        TO_PLAN,
    )
    assert counts == [(TO_PLAN, "active", 1)]
    assert query(
        live_server,
        "SELECT action, actor FROM billing_audit_log WHERE entity_id = ?",
        subscription_id,
    ) == [("subscription_plan_changed", "admin@example.com")]
