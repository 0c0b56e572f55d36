"""Screenshots of every page for docs/screenshots/ (and the README): each page at 1366 px and
390 px wide, in English and Russian, the whole page, from a fresh database with the standard
plans and 300 demo subscriptions.

Only with ``SCREENSHOTS=1`` (CI does not rewrite the committed files):

    SCREENSHOTS=1 .venv/bin/python -m pytest -p no:cacheprovider tests/browser/test_screenshots.py

Files are named ``<page>-<language>-<width>.png`` and stored with a 128-colour palette (Pillow),
about a third of the size of Chromium's own PNGs, with text as sharp."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BROWSER_LOCALES, SCREENS, LiveServer
from tests.browser.test_journeys import flash, query

SCREENSHOTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"desktop": 1366, "phone": 390}
PALETTE_COLOURS = 128


def signed_in_pages(server: LiveServer) -> list[tuple[str, str]]:
    """(name, path) of every page an admin sees, on the screenshot server's data."""
    (busiest,) = query(
        server,
        "SELECT plan_id FROM billing_subscription GROUP BY plan_id "
        "ORDER BY count(*) DESC, plan_id LIMIT 1",
    )[0]
    (subscription, user) = query(
        server,
        "SELECT id, user_id FROM billing_subscription WHERE plan_id = 'pro' "
        "AND status = 'active' ORDER BY id LIMIT 1",
    )[0]
    return [
        ("dashboard", "/admin/"),
        ("plans", "/admin/plans"),
        ("plans-search", "/admin/plans?q=pro&sort=-mrr"),
        ("plan", "/admin/plans/pro"),
        ("plan-edit", "/admin/plans/pro/edit"),
        ("plan-new", "/admin/plans/new"),
        ("plan-delete", "/admin/plans/free/delete"),
        ("plan-move", "/admin/plans/pro/prices/move"),
        ("subscribers", f"/admin/plans/{busiest}/subscribers"),
        ("subscribers-all", "/admin/subscribers"),
        ("subscription", f"/admin/subscriptions/{subscription}"),
        ("subscription-change-plan", f"/admin/subscriptions/{subscription}/change-plan"),
        ("user", f"/admin/users/{user}"),
        ("audit", "/admin/audit"),
        ("accounts", "/admin/accounts"),
        ("account", "/account"),
        ("error-404", "/admin/plans/no_such_plan"),
    ]


def save(page, name: str) -> None:
    """The whole page as a palette PNG in docs/screenshots/."""
    from PIL import Image  # a dev dependency, needed only here

    path = SCREENSHOTS_DIR / name
    page.wait_for_load_state("load")
    page.screenshot(path=path, full_page=True, animations="disabled")
    image = Image.open(path).convert("RGB")
    image.quantize(
        colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    ).save(path, optimize=True)


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_screenshots_of_every_page(screenshot_server, browser, locale):
    server = screenshot_server
    if os.environ.get("SCREENSHOTS") != "1":  # pragma: no cover - the fixture skips first
        pytest.skip("SCREENSHOTS=1 only")
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    english = locale == "en"

    errors: list[str] = []
    for screen, width in WIDTHS.items():
        context = browser.new_context(
            base_url=server.url, locale=BROWSER_LOCALES[locale], **SCREENS[screen]
        )
        page = context.new_page()
        # (The 404 page and the refused form answer 404 and 422 on purpose: Chromium logs those.)
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.goto("/login")
        save(page, f"login-{locale}-{width}.png")
        page.locator("#email").fill(server.admin_email)
        page.locator("#password").fill(server.admin_password)
        page.locator("#password").press("Enter")
        expect(page.locator(".language-switcher")).to_be_visible()
        switch = page.locator(".language-switcher button", has_text=BROWSER_NAMES[locale])
        if switch.get_attribute("aria-pressed") != "true":
            switch.click()
            expect(switch).to_have_attribute("aria-pressed", "true")
        if english and screen == "desktop":
            # One ordinary change, so the audit log shows an update beside the seeding.
            page.goto("/admin/plans/starter/edit")
            page.locator("#description").fill("For individuals who chat every day")
            page.locator("main form button[type=submit]").first.click()
            expect(flash(page)).to_have_text("Plan 'starter' saved.")
        for name, path in signed_in_pages(server):
            response = page.goto(path)
            assert response.status == (404 if name.startswith("error") else 200), path
            save(page, f"{name}-{locale}-{width}.png")
        # A form refused for its errors, as the admin sees it after submitting.
        page.goto("/admin/plans/new")
        page.locator("#name").fill("Team")
        page.locator("#price").fill("990 roubles")
        page.locator("main form button[type=submit]").first.click()
        expect(page.locator("#price-errors")).to_be_visible()
        save(page, f"plan-new-refused-{locale}-{width}.png")
        # And the dark scheme of the dashboard and the plan list.
        page.emulate_media(color_scheme="dark")
        for name, path in [("dashboard-dark", "/admin/"), ("plans-dark", "/admin/plans")]:
            page.goto(path)
            save(page, f"{name}-{locale}-{width}.png")
        context.close()
    assert errors == []


BROWSER_NAMES = {"en": "English", "ru": "Русский"}
