"""Issue 16 ("Time") in a real browser, against gunicorn: a subscription made at 01:30 on
1 January 2026 in Moscow (22:30 UTC on 31 December) reads 31 December in the default zone
(UTC); the admin types their zone on the account page, a nonsense name first, and the same page
then reads 1 January, with the zone named in the footer. The zone is set back to the default at
the end, since the server (and its admin) is shared by the other journeys."""

import re

from playwright.sync_api import expect

from tests.browser.test_journeys import flash, query
from tests.browser.test_subscription_journey import add_subscriber, create_plan

PLAN = "journey_time_zone"
NEW_YEAR_IN_MOSCOW = 1_767_220_200


def choose_zone(page, name: str) -> None:
    page.goto("/account")
    field = page.get_by_label("Time zone", exact=True)
    field.fill(name)
    page.get_by_role("button", name="Save time zone").click()


def test_the_admin_sets_their_zone_and_the_dates_move_to_it(signed_in_page, live_server):
    page = signed_in_page
    create_plan(page, PLAN, "Journey Time Zone", "100")
    subscription_id = add_subscriber(
        live_server, PLAN, email="time-zone@example.com", created_at=NEW_YEAR_IN_MOSCOW
    )
    try:
        page.goto(f"/admin/subscriptions/{subscription_id}")
        created = page.get_by_role("row", name=re.compile("^Created"))
        expect(created).to_contain_text("Dec 31, 2025, 10:30\u202fPM UTC")
        expect(page.locator(".time-zone-note")).to_contain_text("Times in UTC")

        choose_zone(page, "Moscow")  # not a zone name: refused by the field, kept
        field = page.get_by_label("Time zone", exact=True)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_value("Moscow")
        expect(page.locator("#time_zone-errors")).to_contain_text("is not a time zone name")

        choose_zone(page, "Europe/Moscow")
        expect(flash(page)).to_contain_text("Times are now shown in Europe/Moscow.")
        ((stored,),) = query(
            live_server,
            "SELECT time_zone FROM admin_account JOIN user ON user.id = admin_account.user_id "
            "WHERE user.email = ?",
            live_server.admin_email,
        )
        assert stored == "Europe/Moscow"

        page.goto(f"/admin/subscriptions/{subscription_id}")
        expect(created).to_contain_text("Jan 1, 2026, 1:30\u202fAM UTC+03:00")
        expect(page.locator(".time-zone-note")).to_contain_text(
            "Times in Europe/Moscow (UTC+03:00)"
        )
        page.goto(f"/admin/plans/{PLAN}/subscribers")
        expect(page.locator("time[datetime='2026-01-01']").first).to_have_text("Jan 1, 2026")
    finally:
        choose_zone(page, "")
        expect(flash(page)).to_contain_text("the site's default zone, UTC")
