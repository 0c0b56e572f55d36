"""Issue 13 in a real browser, as found by trying to break it as a newcomer admin would: the
navigation's search box with back and forward, one subscriber's pages on a phone, and the
actions on a subscription through their forms (every action, two tabs, a session ended in
another tab).

Screenshots of what a failing test saw go to /tmp/billing-admin-shots/."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import flash, query

SHOTS = Path("/tmp/billing-admin-shots")
PHONE_WIDTH = 390
NAV_SEARCH = "Search subscribers by email or name"
# Each journey here takes subscriptions of its own from the demo data (by offset), so that no
# other journey's action has changed them.
OFFSETS = {"actions": 160, "two_tabs": 161, "signed_out": 162, "layout": 0}


def demo_subscription(server, journey: str) -> tuple[str, str]:
    """(subscription id, user id) of an active demo subscription not set to cancel."""
    [(subscription_id, user_id)] = query(
        server,
        "SELECT s.id, s.user_id FROM billing_subscription s JOIN user u ON u.id = s.user_id "
        "WHERE s.status = 'active' AND s.cancel_at_period_end = 0 "
        "AND u.email LIKE 'demo%@example.com' ORDER BY s.id LIMIT 1 OFFSET ?",
        OFFSETS[journey],
    )
    return subscription_id, user_id


def stored(server, subscription_id: str) -> tuple:
    [row] = query(
        server,
        "SELECT status, version, cancel_at_period_end, current_period_end "
        "FROM billing_subscription WHERE id = ?",
        subscription_id,
    )
    return row


def audit_actions(server, subscription_id: str) -> list[str]:
    rows = query(
        server,
        "SELECT action FROM billing_audit_log WHERE entity_id = ? ORDER BY id",
        subscription_id,
    )
    return [action for (action,) in rows]


def page_width(page: Page) -> int:
    """How wide the page lays out, in CSS pixels. On a phone the browser widens its layout
    viewport to what overflows (window.innerWidth grows with it), so compare the scrolling
    element with the screen's own width, not with innerWidth."""
    return page.evaluate("() => document.scrollingElement.scrollWidth")


def shoot(page: Page, name: str) -> str:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return str(path)


def open_action(page: Page, subscription_id: str, link: str) -> None:
    page.goto(f"/admin/subscriptions/{subscription_id}")
    page.get_by_role("button", name=link).click()
    expect(page).to_have_url(re.compile(rf"/admin/subscriptions/{subscription_id}/[a-z-]+\?"))


def review_extension(page: Page, subscription_id: str, days: str) -> None:
    open_action(page, subscription_id, "Extend the current period…")
    page.get_by_label("Days to add").fill(days)
    page.get_by_role("button", name="Review the change").click()
    expect(page.get_by_role("button", name="Extend the period")).to_be_visible()


# -- The navigation's search box ---------------------------------------------------------------


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_back_to_a_search_shows_its_own_query_in_the_navigation_box(page_as, screen):
    """Search "demo1" from the navigation, then type "demo2" in the navigation box and press
    Enter, then press Back: the page of "demo1"'s results says "demo1" in the navigation's
    box, as in the filter's box and the address. (The box showed "demo2": the browser restored
    what was typed in it before leaving the page; now autocomplete="off".)"""
    page = page_as("en", screen)
    page.goto("/admin/plans")
    box = page.get_by_role("search").get_by_label(NAV_SEARCH)
    box.fill("demo1")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/subscribers\?q=demo1$"))
    expect(box).to_have_value("demo1")
    box.fill("demo2")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/subscribers\?q=demo2$"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"/admin/subscribers\?q=demo1$"))
    expect(page.get_by_label("Email or name contains")).to_have_value("demo1")
    if box.input_value() != "demo1":
        shoot(page, f"nav-search-after-back-{screen}")
    expect(box).to_have_value("demo1")

    page.go_forward()
    expect(page).to_have_url(re.compile(r"/admin/subscribers\?q=demo2$"))
    expect(box).to_have_value("demo2")


# -- One subscriber's pages on a phone ---------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_a_subscriptions_page_fits_a_phone(page_as, live_server, locale):
    """/admin/subscriptions/<id> on a 390 px phone: nothing wider than the screen, the heading
    "Subscription of demoN@example.com" wraps. (It did not: the page was 410–454 px wide.)"""
    subscription_id, _ = demo_subscription(live_server, "layout")
    page = page_as(locale, "phone")
    assert page.goto(f"/admin/subscriptions/{subscription_id}").status == 200
    expect(page.locator("table.subscription-facts")).to_be_visible()
    width = page_width(page)
    if width > PHONE_WIDTH:
        shoot(page, f"subscription-page-phone-{locale}")
    assert width <= PHONE_WIDTH, "the h1 is wider than the screen"


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_a_users_page_fits_a_phone_and_its_open_link_is_on_screen(page_as, live_server, locale):
    """/admin/users/<id> on a 390 px phone: the page is no wider than the screen and each
    subscription's "Open" link is on screen, a card a subscription as on every other table page
    (test_layout.py). (It was a 6-column table scrolling sideways, its "Open" link off screen,
    and a header hidden for screen readers made the page 537–630 px wide.)"""
    _, user_id = demo_subscription(live_server, "layout")
    page = page_as(locale, "phone")
    assert page.goto(f"/admin/users/{user_id}").status == 200
    table = page.locator("main table").first
    expect(table).to_be_visible()
    open_link = table.locator("a[href*='/admin/subscriptions/']").first
    right_edge = open_link.evaluate("link => link.getBoundingClientRect().right")
    width = page_width(page)
    if width > PHONE_WIDTH or right_edge > PHONE_WIDTH:
        shoot(page, f"user-page-phone-{locale}")
    assert width <= PHONE_WIDTH, "the page scrolls sideways"
    assert right_edge <= PHONE_WIDTH, "the subscription's link is off screen"


# -- Acting on a subscription ------------------------------------------------------------------


def test_every_action_through_its_form_double_clicked_acts_once(signed_in_page, live_server):
    """Pause, resume, cancel at period end, resume renewal, extend, cancel now: each from the
    subscription's page through its form, its confirmation double-clicked. Each acts once (one
    audit entry, the version up by one) and says so; a canceled subscription offers none."""
    page = signed_in_page
    subscription_id, _ = demo_subscription(live_server, "actions")
    steps = [
        ("Pause…", "Pause the subscription", "Subscription paused.", "subscription_paused"),
        ("Resume…", "Resume the subscription", "Subscription resumed.", "subscription_unpaused"),
        (
            "Cancel at period end…",
            "Cancel at the end of the period",
            "The subscription will cancel at the end of its period.",
            "subscription_cancel_scheduled",
        ),
        (
            "Resume renewal…",
            "Resume the renewal",
            "Renewal resumed: the subscription renews at the end of its period.",
            "subscription_renewal_resumed",
        ),
        ("Extend the current period…", "Extend the period", "Period extended.", None),
        (
            "Cancel now…",
            "Cancel the subscription now",
            "Subscription canceled.",
            "subscription_canceled",
        ),
    ]
    for version, (link, confirm, done, action) in enumerate(steps, start=1):
        assert stored(live_server, subscription_id)[1] == version
        if action is None:
            review_extension(page, subscription_id, "2")
            action = "subscription_extended"
        else:
            open_action(page, subscription_id, link)
        page.get_by_role("button", name=confirm).dblclick()
        expect(page).to_have_url(re.compile(rf"/admin/subscriptions/{subscription_id}$"))
        expect(flash(page)).to_have_text(done)
        assert stored(live_server, subscription_id)[1] == version + 1
        assert audit_actions(live_server, subscription_id)[-1] == action
    assert len(audit_actions(live_server, subscription_id)) == len(steps)
    assert stored(live_server, subscription_id)[0] == "canceled"
    expect(page.locator("main").get_by_role("button", name=re.compile("…$"))).to_have_count(0)


def test_the_same_action_confirmed_in_two_tabs_acts_once(signed_in_page, live_server):
    """Extend by 5 days in one tab and by 7 in another, both reviewed, then confirmed one after
    the other: the first extends; the second shows the conflict (409), keeps the 7 typed, and
    extends nothing; reviewed and confirmed again, it extends by 7."""
    first = signed_in_page
    subscription_id, _ = demo_subscription(live_server, "two_tabs")
    second = first.context.new_page()
    review_extension(first, subscription_id, "5")
    review_extension(second, subscription_id, "7")
    end = stored(live_server, subscription_id)[3]

    first.get_by_role("button", name="Extend the period").click()
    expect(flash(first)).to_have_text("Period extended.")
    assert stored(live_server, subscription_id)[1:4:2] == (2, end + 5 * 86400)

    with second.expect_response(re.compile(r"/extend")) as answer:
        second.get_by_role("button", name="Extend the period").click()
    assert answer.value.status == 409
    expect(second.locator("main")).to_contain_text(
        "This subscription was changed by someone else since you opened it (version 1, now 2)."
    )
    expect(second.get_by_label("Days to add")).to_have_value("7")
    assert stored(live_server, subscription_id)[1:4:2] == (2, end + 5 * 86400)

    second.get_by_role("button", name="Review the change").click()
    second.get_by_role("button", name="Extend the period").click()
    expect(flash(second)).to_have_text("Period extended.")
    assert stored(live_server, subscription_id)[1:4:2] == (3, end + 12 * 86400)
    assert audit_actions(live_server, subscription_id) == ["subscription_extended"] * 2


def test_a_confirmation_sent_after_signing_out_elsewhere_says_nothing_was_done(
    signed_in_page, live_server, sign_in
):
    """Review "extend by 9 days", sign out in another tab, then click "Extend the period":
    nothing is done, the sign-in page says so (it said nothing about the action), and signing
    in leads back to the action's page. **Decided**: what was typed is not carried through a
    sign-in (the session that held the form is gone); the days are typed again."""
    page = signed_in_page
    subscription_id, _ = demo_subscription(live_server, "signed_out")
    review_extension(page, subscription_id, "9")
    other = page.context.new_page()
    other.goto("/admin/")
    other.get_by_role("button", name="Sign out").click()
    expect(other).to_have_url(re.compile(r"/login$"))
    other.close()

    page.get_by_role("button", name="Extend the period").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator("main")).to_contain_text("so nothing was saved or done")
    assert stored(live_server, subscription_id)[1] == 1
    page.get_by_label("Email").fill(live_server.admin_email)
    page.get_by_label("Password").fill(live_server.admin_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/admin/subscriptions/{subscription_id}/extend"))
    expect(page.get_by_label("Days to add")).to_be_visible()
    assert stored(live_server, subscription_id)[1] == 1
    assert audit_actions(live_server, subscription_id) == []
