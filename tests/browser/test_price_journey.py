"""Issue 12 in a real browser, against gunicorn: a price change that tells the truth before
saving, the plan's price history, and moving the subscribers to the new price, which runs in
the background of the gunicorn worker while the plan page follows it. Figures are checked
against the database file.
"""

import re
import sqlite3
import uuid

from playwright.sync_api import expect

from tests.browser.test_journeys import flash, query

PLAN = "journey_prices"


def add_active_subscriptions(server, plan_id: str, count: int) -> None:
    """``count`` active subscriptions paying the plan's current price, written as the platform
    would (straight into the database; its triggers count them)."""
    connection = sqlite3.connect(server.database_path)
    try:
        with connection:
            (price_id,) = connection.execute(
                "SELECT id FROM billing_price WHERE plan_id = ? AND active_until IS NULL",
                (plan_id,),
            ).fetchone()
            for _ in range(count):
                user_id = str(uuid.uuid4())
                connection.execute(
                    'INSERT INTO "user" (id, email, name, role, created_at, session_token) '
                    "VALUES (?, ?, 'Journey', 'user', 1, ?)",
                    (user_id, f"{uuid.uuid4().hex[:12]}@example.com", uuid.uuid4().hex),
                )
                connection.execute(
                    "INSERT INTO billing_subscription (id, user_id, plan_id, price_id, status, "
                    "current_period_start, current_period_end, cancel_at_period_end, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, 'active', 1, 2, 0, 1, 1)",
                    (str(uuid.uuid4()), user_id, plan_id, price_id),
                )
    finally:
        connection.close()


def test_change_a_price_then_move_the_subscribers_to_it(signed_in_page, live_server):
    page = signed_in_page
    page.goto("/admin/plans/new")
    page.get_by_label("ID", exact=True).fill(PLAN)
    page.get_by_label("Name", exact=True).fill("Journey Prices")
    page.get_by_label("Price", exact=True).fill("100")
    page.get_by_label("Unlimited plan (no quotas at all)").check()
    page.get_by_role("button", name="Create plan").click()
    expect(page).to_have_url(re.compile(rf"/admin/plans/{PLAN}$"))
    add_active_subscriptions(live_server, PLAN, 3)

    # The price change says what happens before anything is saved.
    page.goto(f"/admin/plans/{PLAN}/edit")
    page.get_by_label("Price", exact=True).fill("150")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "3 active subscriptions keep RUB\u00a0100.00; new subscriptions pay RUB\u00a0150.00; "
        "MRR unchanged today (RUB\u00a0300.00)."
    )
    assert query(live_server, "SELECT price FROM billing_plan WHERE id = ?", PLAN) == [(100,)]
    page.get_by_role("button", name="Save with the new price (RUB\u00a0150.00)").click()
    expect(flash(page)).to_have_text(f"Plan '{PLAN}' saved.")

    # The plan page: two prices, the MRR unchanged, a way to move the subscribers.
    prices = page.locator("#prices tbody tr")
    expect(prices).to_have_count(2)
    expect(prices.nth(0)).to_contain_text("RUB\u00a0150.00 / month")
    expect(prices.nth(1)).to_contain_text("RUB\u00a0100.00 / month")
    expect(prices.nth(1)).to_contain_text("RUB\u00a0300.00")
    expect(page.get_by_text("MRR RUB\u00a0300.00")).to_be_visible()

    page.get_by_role(
        "button", name="Move subscriptions on older prices to the current price…"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Move subscriptions of Journey Prices to the current price"
    )
    expect(page.locator("main")).to_contain_text("RUB\u00a0300.00")  # MRR now
    expect(page.locator("main")).to_contain_text("RUB\u00a0450.00")  # after: 3 × 150
    page.get_by_role("button", name="Move 3 subscriptions").click()
    expect(page).to_have_url(re.compile(rf"/admin/plans/{PLAN}#prices$"))
    expect(flash(page)).to_contain_text("Moving 3 subscriptions to the current price")

    # The worker moves them in the background; the page shows the result once done.
    for _ in range(20):
        if query(live_server, "SELECT status FROM billing_price_move WHERE plan_id = ?", PLAN) == [
            ("completed",)
        ]:
            break
        page.wait_for_timeout(500)
    page.reload()
    expect(page.get_by_text("MRR RUB\u00a0450.00")).to_be_visible()
    expect(page.locator("#prices progress")).to_have_count(0)
    current = query(
        live_server,
        "SELECT id FROM billing_price WHERE plan_id = ? AND active_until IS NULL",
        PLAN,
    )
    paid = query(
        live_server, "SELECT DISTINCT price_id FROM billing_subscription WHERE plan_id = ?", PLAN
    )
    assert paid == current
    expect(page.locator(".history")).to_contain_text("subscriptions moved to the current price")
