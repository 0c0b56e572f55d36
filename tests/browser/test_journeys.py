"""What an admin does in a real browser, checked by what the admin sees.

Every test runs against the same live server (see conftest.py); each journey works on its own
plans, so the tests do not depend on one another's order. Figures the pages show are checked
against the database file itself, read with ``sqlite3``.
"""

import csv
import re
import sqlite3
from datetime import datetime

from playwright.sync_api import Locator, Page, expect

CSRF_EXPIRED = (
    "This page had expired (or you signed in again elsewhere), so nothing was saved. What you "
    "typed is still here: check it and submit again."
)


def query(server, sql: str, *params) -> list[tuple]:
    connection = sqlite3.connect(f"file:{server.database_path}?mode=ro", uri=True)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def plan_row(page: Page, plan_id: str) -> Locator:
    """The row of the plans table for exactly this plan id (``pro``, not ``pro_annual``)."""
    code = page.locator("code").filter(has_text=re.compile(rf"^{re.escape(plan_id)}$"))
    return page.locator("tbody tr").filter(has=code)


def plan_badge(row: Locator) -> Locator:
    """The Active / Inactive badge in a plan's row (not the subscriber status badges)."""
    return row.locator("td").first.locator(".badge")


def flash(page: Page) -> Locator:
    return page.locator("p.notice")


def pager_summary(page: Page) -> Locator:
    return page.locator(".pager-summary")


def subscriber_rows(page: Page) -> Locator:
    return page.locator("table tbody tr")


# -- Sign in -----------------------------------------------------------------------------------


def test_wrong_password_is_refused_then_the_right_one_opens_the_dashboard(page, live_server):
    response = page.goto("/admin/plans")
    # Production mode: HSTS is sent (Chromium ignores it for an IP address, as it should).
    assert response.headers.get("strict-transport-security")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)admin(/|%2F)plans$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.get_by_label("Email").fill(live_server.admin_email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password")
    expect(page.get_by_label("Email")).to_have_value(live_server.admin_email)
    expect(page.get_by_label("Password")).to_have_value("")

    page.get_by_label("Password").fill(live_server.admin_password)
    page.get_by_role("button", name="Sign in").click()
    # Back to the page that asked for sign-in.
    expect(page).to_have_url(f"{live_server.url}/admin/plans")
    expect(page.get_by_role("heading", name="Plans", level=1)).to_be_visible()
    expect(page.get_by_title("Signed in as")).to_have_text(live_server.admin_email)

    # The session cookie is Secure (production) and still sticks on http://127.0.0.1, which
    # Chromium treats as a secure context.
    (session,) = [c for c in page.context.cookies() if c["name"] == "__Host-session"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax"
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


# -- Plans -------------------------------------------------------------------------------------


def test_create_a_plan_fixing_a_bad_price_then_rename_it(signed_in_page):
    page = signed_in_page
    page.get_by_role("link", name="Plans").click()
    page.get_by_role("button", name="New plan").click()
    expect(page.get_by_role("heading", name="New plan")).to_be_visible()

    page.get_by_label("ID", exact=True).fill("browser_team")
    page.get_by_label("Name", exact=True).fill("Browser Team")
    page.get_by_label("Name in Russian").fill("Команда браузера")
    page.get_by_label("Price", exact=True).fill("990 roubles")
    page.get_by_label("Input tokens per period").fill("2 000 000")
    page.get_by_label("Output tokens per period").fill("1_000_000")
    page.get_by_label("Requests per period").fill("10,000")
    page.get_by_label("Features").fill("GPT-4o\nClaude 4.5 Sonnet")
    page.get_by_role("button", name="Create plan").click()

    price = page.get_by_label("Price", exact=True)
    error = page.locator("#price-errors")
    expect(error).to_have_text("Write numbers like 1,490.50.")
    expect(price).to_have_attribute("aria-invalid", "true")
    expect(price).to_have_accessible_description(re.compile(r"^Write numbers like 1,490\.50"))
    # Beside the field: directly under the price input, in its column.
    field_box, error_box = price.bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40
    assert abs(error_box["x"] - field_box["x"]) < 5
    # Everything typed is kept.
    expect(page.get_by_label("Name", exact=True)).to_have_value("Browser Team")
    expect(price).to_have_value("990 roubles")
    expect(page.get_by_label("Features")).to_have_value("GPT-4o\nClaude 4.5 Sonnet")

    price.fill("1,990.50")  # as the English pages write prices
    page.get_by_role("button", name="Create plan").click()
    expect(page).to_have_url(re.compile(r"/admin/plans/browser_team$"))
    expect(flash(page)).to_have_text("Plan 'browser_team' created.")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Browser Team\s+Active"))
    expect(page.get_by_text(re.compile(r"^RUB\s1,990\.50 / month$"))).to_be_visible()
    expect(page.get_by_role("row", name="Quotas per period")).to_contain_text(
        "Input tokens: 2,000,000"
    )

    page.get_by_role("button", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit Browser Team browser_team")
    expect(page.get_by_label("Price", exact=True)).to_have_value("1,990.50")
    page.get_by_label("Name", exact=True).fill("Browser Team Plus")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(r"/admin/plans/browser_team$"))
    expect(flash(page)).to_have_text("Plan 'browser_team' saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Browser Team Plus\s+Active")
    )
    history = page.locator("ol.history > li")
    expect(history.first).to_contain_text("updated by admin@example.com")
    expect(history.first).to_contain_text("Browser Team → Browser Team Plus")

    page.get_by_role("link", name="All plans").click()
    expect(plan_row(page, "browser_team")).to_contain_text("Browser Team Plus")


def test_duplicate_a_plan_then_deactivate_one_from_the_list(signed_in_page):
    page = signed_in_page
    page.goto("/admin/plans")
    plan_row(page, "pro").get_by_role("button", name="Duplicate").click()

    expect(page).to_have_url(re.compile(r"/admin/plans/pro_copy/edit$"))
    expect(flash(page)).to_have_text(
        "Plan 'pro' duplicated as 'pro_copy' (inactive). Review it, then activate it."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit Pro (Copy) pro_copy")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Pro (Copy)")
    expect(page.get_by_label("Active (offered to new subscribers)")).not_to_be_checked()

    page.goto("/admin/plans")
    copy = plan_row(page, "pro_copy")
    expect(plan_badge(copy)).to_have_text("Inactive")
    expect(copy.get_by_role("button", name="Activate")).to_be_visible()

    row = plan_row(page, "starter_annual")
    expect(plan_badge(row)).to_have_text("Active")
    row.get_by_role("button", name="Deactivate").click()
    expect(page).to_have_url(re.compile(r"/admin/plans$"))
    expect(flash(page)).to_have_text("Plan 'starter_annual' deactivated.")
    row = plan_row(page, "starter_annual")
    expect(plan_badge(row)).to_have_text("Inactive")
    expect(row.get_by_role("button", name="Activate")).to_be_visible()

    page.get_by_role("navigation", name="Filter plans").get_by_role(
        "link", name="Active", exact=True
    ).click()
    expect(page).to_have_url(re.compile(r"status=active$"))
    expect(plan_row(page, "starter")).to_have_count(1)
    expect(plan_row(page, "starter_annual")).to_have_count(0)
    expect(plan_row(page, "pro_copy")).to_have_count(0)


def test_delete_is_refused_for_a_plan_with_subscribers_and_works_for_an_empty_one(
    signed_in_page, live_server
):
    page = signed_in_page
    ((active,),) = query(
        live_server,
        "SELECT count(*) FROM billing_subscription WHERE plan_id = 'free' AND status = 'active'",
    )
    refusal = (
        f"Cannot delete plan with {active:,} active subscriptions. Deactivate the plan instead."
    )
    page.goto("/admin/plans/free")
    # The plan's page says it cannot be deleted, and its Delete… button agrees: disabled, with
    # the reason beside it (and read with it by a screen reader).
    delete = page.get_by_role("button", name="Delete…")
    expect(delete).to_be_disabled()
    expect(delete).to_have_accessible_description(refusal)
    expect(page.locator("#deletion-refusal")).to_be_visible()
    # The confirmation page, opened by its address, still refuses with the way out.
    page.goto("/admin/plans/free/delete")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete Free free?")
    expect(page.get_by_role("alert")).to_have_text(refusal)
    expect(page.get_by_role("button", name="Deactivate Free")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)

    # An empty plan: a fresh copy of Business.
    page.goto("/admin/plans/business")
    page.get_by_role("button", name="Duplicate").click()
    expect(page).to_have_url(re.compile(r"/admin/plans/business_copy/edit$"))
    page.get_by_role("link", name="Back to the plan").click()
    expect(page.locator("#deletion-refusal")).to_have_count(0)
    page.get_by_role("button", name="Delete…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Delete Business (Copy) business_copy?"
    )
    expect(page.locator("main")).to_contain_text(
        "The plan Business (Copy) (Бизнес (Копия)) has no subscriptions."
    )
    page.get_by_role("button", name="Delete Business (Copy)").click()

    expect(page).to_have_url(re.compile(r"/admin/plans$"))
    expect(flash(page)).to_have_text("Plan 'business_copy' deleted.")
    expect(plan_row(page, "business_copy")).to_have_count(0)
    expect(plan_row(page, "business")).to_have_count(1)
    expect(plan_row(page, "free")).to_have_count(1)

    response = page.goto("/admin/plans/business_copy")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("404 Not Found")


# -- Subscribers -------------------------------------------------------------------------------


def test_subscribers_paged_with_a_status_filter_and_a_search_then_a_bigger_page(
    signed_in_page, live_server
):
    page = signed_in_page
    expected = {
        email
        for (email,) in query(
            live_server,
            "SELECT u.email FROM billing_subscription s JOIN user u ON u.id = s.user_id "
            "WHERE s.plan_id = 'free' AND s.status = 'active' "
            "AND (lower(u.email) LIKE '%demo1%' OR lower(u.name) LIKE '%demo1%')",
        )
    }
    assert 20 < len(expected) <= 50, "the demo data should give a second page of 20"

    page.goto("/admin/plans")
    plan_row(page, "free").get_by_role("link", name=re.compile(r"^[\d,]+ subscribers?$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribers of Free free")
    expect(subscriber_rows(page)).to_have_count(20)

    page.get_by_label("Status").select_option("active")
    page.get_by_label("Email or name contains").fill("DEMO1")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"status=active"))
    assert "q=DEMO1" in page.url and "page_size=20" in page.url
    expect(pager_summary(page)).to_have_text(f"Showing 1–20 of {len(expected)}")
    expect(page.get_by_label("Status")).to_have_value("active")
    expect(page.get_by_label("Email or name contains")).to_have_value("DEMO1")

    seen: list[str] = []
    for number in (1, 2):
        rows = subscriber_rows(page)
        expect(rows).to_have_count(20 if number == 1 else len(expected) - 20)
        expect(rows.locator(".badge")).to_have_text(["active"] * rows.count())
        seen += rows.locator("td:nth-child(2)").all_inner_texts()
        if number == 1:
            page.get_by_role("link", name="Next page").click()
            expect(page).to_have_url(re.compile(r"page=2"))
            assert "status=active" in page.url and "q=DEMO1" in page.url
            expect(pager_summary(page)).to_have_text(
                f"Showing 21–{len(expected)} of {len(expected)}"
            )
    assert sorted(seen) == sorted(expected), "each matching subscriber once, none other"
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)

    page.locator(".page-sizes").get_by_role("link", name="50").click()
    url = page.url
    assert "page_size=50" in url and "status=active" in url and "q=DEMO1" in url
    assert "page=1" in url
    expect(subscriber_rows(page)).to_have_count(len(expected))
    expect(pager_summary(page)).to_have_text(f"Showing 1–{len(expected)} of {len(expected)}")
    expect(page.locator(".page-sizes strong")).to_have_text("50")
    # One page now: no page links.
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)

    page.get_by_role("link", name="Clear filters").click()
    assert "page_size=50" in page.url and "status" not in page.url and "q=" not in page.url
    expect(subscriber_rows(page)).to_have_count(50)


def test_download_the_subscribers_csv(signed_in_page, live_server):
    page = signed_in_page
    expected = query(
        live_server,
        "SELECT u.email, s.status FROM billing_subscription s JOIN user u ON u.id = s.user_id "
        "WHERE s.plan_id = 'free' AND s.status = 'active'",
    )
    page.goto("/admin/plans/free/subscribers?status=active")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    assert re.fullmatch(r"free-subscribers-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    assert download.failure() is None

    with open(download.path(), newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "user_id",
        "email",
        "name",
        "subscription_status",
        "subscribed_at",
        "current_period_end",
        "cancel_at_period_end",
    ]
    body = rows[1:]
    assert len(body) == len(expected) > 0
    assert sorted((row[1], row[3]) for row in body) == sorted(expected)
    # Newest first.
    created = [datetime.fromisoformat(row[4]) for row in body]
    assert created == sorted(created, reverse=True)


# -- Dashboard ---------------------------------------------------------------------------------


def test_dashboard_shows_its_charts(signed_in_page, live_server):
    page = signed_in_page
    ((active,),) = query(
        live_server,
        "SELECT count(*) FROM billing_subscription WHERE status IN ('active', 'trialing')",
    )
    figure = page.get_by_role("region", name="Key figures").locator("article").first
    expect(figure.locator(".figure")).to_have_text(f"{active:,}")

    charts = page.locator("svg[role=img]")
    assert charts.count() >= 3
    for chart in charts.all():
        chart.scroll_into_view_if_needed()
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box["width"] > 200 and box["height"] > 100, box
        title = chart.locator(":scope > title")
        expect(title).to_have_count(1)
        assert title.text_content().strip()
        # Its accessible name is the title, and bars are drawn.
        expect(chart).to_have_accessible_name(
            re.compile("^" + re.escape(title.text_content().strip()))
        )
        assert chart.locator("rect").count() > 0
    expect(
        page.get_by_role("img", name="New and canceled subscriptions per week, last 12 weeks")
    ).to_be_visible()


# -- Sign out ----------------------------------------------------------------------------------


def test_sign_out_closes_the_pages(signed_in_page, new_page, live_server):
    page = signed_in_page
    copied_cookies = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("You have been signed out.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    # Back does not bring the dashboard back from the browser's cache (no-store).
    page.go_back()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Dashboard")).to_have_count(0)

    page.goto("/admin/plans")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # A copy of the cookie taken before signing out opens nothing either.
    other, _ = new_page(live_server)
    other.context.add_cookies(copied_cookies)
    other.goto("/admin/plans")
    expect(other).to_have_url(re.compile(r"/login\?next="))
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()


# -- CSRF --------------------------------------------------------------------------------------


def fill_new_plan(page: Page, plan_id: str) -> None:
    page.goto("/admin/plans/new")
    page.get_by_label("ID", exact=True).fill(plan_id)
    page.get_by_label("Name", exact=True).fill(plan_id.title())
    page.get_by_label("Price", exact=True).fill("100")
    page.get_by_label("Unlimited plan (no quotas at all)").check()


def expect_expired_form_kept(page: Page, server, plan_id: str) -> None:
    """The same form again with everything typed, a fresh token and a message to submit again;
    announced (the summary has the focus, the title says Error:); nothing written."""
    expect(page.get_by_role("heading", level=1)).to_have_text("New plan")
    summary = page.get_by_role("alert").filter(has_text="The form was not saved")
    expect(summary).to_contain_text(CSRF_EXPIRED)
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: New plan"))
    expect(page.get_by_label("ID", exact=True)).to_have_value(plan_id)
    expect(page.get_by_label("Name", exact=True)).to_have_value(plan_id.title())
    expect(page.get_by_label("Price", exact=True)).to_have_value("100")
    expect(page.get_by_label("Unlimited plan (no quotas at all)")).to_be_checked()
    expect(page.get_by_title("Signed in as")).to_have_text(server.admin_email)
    assert query(server, "SELECT id FROM billing_plan WHERE id = ?", plan_id) == []


def test_a_tampered_csrf_token_keeps_the_form(signed_in_page, live_server):
    page = signed_in_page
    fill_new_plan(page, "csrf_tampered")
    token = page.locator("main form input[name=csrf_token]")
    expect(token).to_have_count(1)
    token.evaluate("input => { input.value = 'garbage' }")
    with page.expect_response(re.compile(r"/admin/plans/new$")) as answer:
        page.get_by_role("button", name="Create plan").click()
    assert answer.value.status == 422
    expect_expired_form_kept(page, live_server, "csrf_tampered")


def test_a_form_sent_after_signing_in_again_loses_nothing(signed_in_page, live_server, sign_in):
    """The form's token belongs to a session that ended: sign out and in again in another tab.
    The form comes back with everything typed; submitting it again saves it."""
    page = signed_in_page
    fill_new_plan(page, "csrf_stale")
    page.get_by_label("Features").fill("GPT-4o\nClaude")

    other_tab = page.context.new_page()
    other_tab.goto("/admin/")
    other_tab.get_by_role("button", name="Sign out").click()
    sign_in(other_tab, live_server)
    other_tab.close()

    with page.expect_response(re.compile(r"/admin/plans/new$")) as answer:
        page.get_by_role("button", name="Create plan").click()
    assert answer.value.status == 422
    expect_expired_form_kept(page, live_server, "csrf_stale")
    expect(page.get_by_label("Features")).to_have_value("GPT-4o\nClaude")

    page.get_by_role("button", name="Create plan").click()
    expect(flash(page)).to_have_text("Plan 'csrf_stale' created.")
    [(features,)] = query(
        live_server, "SELECT features FROM billing_plan WHERE id = ?", "csrf_stale"
    )
    assert features == '["GPT-4o", "Claude"]'


# -- Demo data --------------------------------------------------------------------------------


def test_switch_to_russian_everywhere_then_back_to_english(signed_in_page, new_page, live_server):
    """The switcher in the navigation: Russian on every page after one click, in a browser
    that asks for English, remembered for the account (another browser signing in gets it)."""
    page = signed_in_page
    page.goto("/admin/plans?status=active")
    try:
        page.get_by_role("button", name="Русский").click()
        expect(page).to_have_url(re.compile(r"/admin/plans\?status=active$"))  # back where it was
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        expect(page.get_by_role("heading", level=1)).to_have_text("Тарифы")
        row = plan_row(page, "pro")
        expect(row).to_contain_text("Профессиональный")  # the plan's own Russian name
        expect(row).to_contain_text(re.compile(r"1\s490,00\s₽ / мес\."))
        expect(page.get_by_role("button", name="Русский")).to_be_disabled()

        page.get_by_role("link", name="Обзор").click()
        expect(page.get_by_role("heading", level=1)).not_to_have_text(re.compile("[A-Za-z]{3}"))

        other, _ = new_page(live_server)  # another browser: English Accept-Language, no cookie
        other.goto("/login")
        expect(other.locator("html")).to_have_attribute("lang", "en")  # nobody signed in yet
        other.get_by_label("Email").fill(live_server.admin_email)
        other.get_by_label("Password").fill(live_server.admin_password)
        other.get_by_role("button", name="Sign in").click()
        expect(other.get_by_role("link", name="Тарифы")).to_be_visible()
        expect(other.locator("html")).to_have_attribute("lang", "ru")
    finally:
        page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()


def test_demo_cancellations_are_spread_over_time(live_server):
    """The dashboard's trend chart should show the demo data's cancellations spread over the
    weeks, not piled on the second ``flask seed-demo`` ran."""
    ((piled, canceled),) = query(
        live_server,
        "SELECT sum(canceled_at = (SELECT max(canceled_at) FROM billing_subscription)), count(*) "
        "FROM billing_subscription WHERE status = 'canceled'",
    )
    assert canceled > 20
    assert piled <= 1, f"{piled} of {canceled} cancellations at the same second"


# -- Console ---------------------------------------------------------------------------------

MAIN_PAGES = [
    "/admin/",
    "/admin/plans",
    "/admin/plans?status=inactive",
    "/admin/plans/new",
    "/admin/plans/pro",
    "/admin/plans/pro/edit",
    "/admin/plans/pro/delete",
    "/admin/plans/free/subscribers",
    "/admin/plans/free/subscribers?status=paused&page_size=50",
    "/admin/audit",
]


def test_main_pages_load_with_no_console_errors(page, live_server, console_errors, sign_in):
    response = page.goto("/login")
    assert response.status == 200
    sign_in(page, live_server)
    for path in MAIN_PAGES:
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
        # Our stylesheet applied (a CSP block would leave the page unstyled).
        skip_link_left = page.locator(".skip-link").evaluate(
            "link => getComputedStyle(link).position"
        )
        assert skip_link_left == "absolute", path
    assert console_errors == []


# -- Second factor -----------------------------------------------------------------------------


def test_second_factor_enrol_sign_out_sign_in_with_a_code_then_a_recovery_code(
    new_page, live_server
):
    """A new admin turns on a second factor on /account, signs out, signs in with a code from
    the app, then with a recovery code; a used recovery code is refused."""
    import time

    import pyotp

    from tests.browser.conftest import _flask

    email, password = "second-factor@example.com", "violet harbour signal"
    _flask(live_server.env, "create-admin", "--email", email, "--password-stdin", stdin=password)
    page, problems = new_page(live_server)

    def sign_in_with_password():
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    sign_in_with_password()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.get_by_title("Signed in as").click()
    expect(page.get_by_role("heading", name="Your account", level=1)).to_be_visible()
    page.get_by_role("button", name="Set up a second factor").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("code.secret-key").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on the second factor").click()
    expect(page.get_by_text("Your second factor is on.")).to_be_visible()
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("button", name="I have saved them: continue").click()
    expect(page.get_by_text("recovery codes left")).to_be_visible()
    page.locator("nav").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # With a code from the app: the next step's code (one step of drift is allowed), since the
    # step of the enrolment code cannot be used again.
    sign_in_with_password()
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.locator("nav").get_by_role("button", name="Sign out").click()

    # With a recovery code, once.
    sign_in_with_password()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.locator("nav").get_by_role("button", name="Sign out").click()
    sign_in_with_password()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That code is not right, or it has been used already."
    )
    assert not problems.csp_violations, problems.csp_violations
    used = query(
        live_server,
        "SELECT count(*) FROM recovery_code r JOIN user u ON u.id = r.user_id "
        "WHERE u.email = ? AND r.used_at IS NOT NULL",
        email,
    )
    assert used == [(1,)]


# -- Search across plans (issue 13) ------------------------------------------------------------


def test_the_navigation_search_box_finds_subscribers_across_plans_then_filters_and_sorts(
    signed_in_page, live_server
):
    page = signed_in_page
    expected = query(
        live_server,
        "SELECT u.email, s.plan_id, s.current_period_end FROM billing_subscription s "
        "JOIN user u ON u.id = s.user_id WHERE lower(u.email) LIKE '%demo12%' "
        "OR lower(u.name) LIKE '%demo12%' ORDER BY s.created_at DESC, s.id DESC",
    )
    assert 1 < len(expected) <= 20 and len({plan for _, plan, _ in expected}) > 1

    page.goto("/admin/plans")
    box = page.get_by_role("search").get_by_label("Search subscribers by email or name")
    box.fill("DEMO12")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/subscribers\?q=DEMO12$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribers")
    expect(pager_summary(page)).to_have_text(f"Showing 1–{len(expected)} of {len(expected)}")
    emails = subscriber_rows(page).locator("td:nth-child(2)")
    expect(emails).to_have_text([email for email, _, _ in expected])
    expect(page.get_by_label("Email or name contains")).to_have_value("DEMO12")

    # One plan, soonest end of period first: the plan's rows, in the database's order.
    plan = expected[0][1]
    on_plan = sorted((row for row in expected if row[1] == plan), key=lambda row: row[2])
    page.get_by_label("Plan", exact=True).select_option(plan)
    page.get_by_label("Sort by").select_option("period_end")
    page.get_by_label("Order").select_option("asc")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(rf"plan={plan}"))
    assert "q=DEMO12" in page.url and "sort=period_end" in page.url and "direction=asc" in page.url
    expect(emails).to_have_text([email for email, _, _ in on_plan])
    expect(subscriber_rows(page).locator("td:nth-child(3) a").first).to_have_attribute(
        "href", f"/admin/plans/{plan}"
    )
    csv_link = page.get_by_role("button", name="Download CSV")
    href = csv_link.get_attribute("href")
    assert href.startswith("/admin/subscribers.csv?") and "q=DEMO12" in href
    assert f"plan={plan}" in href and "sort=period_end" in href and "direction=asc" in href
