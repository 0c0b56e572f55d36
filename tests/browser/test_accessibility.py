"""Accessibility, measured in Chromium: axe-core on every page in English and Russian, on a
1366 px laptop and a 390 px phone, in the light and the dark colour scheme (no serious or
critical violation); a focus ring of 3:1 or more against the page in both schemes; and the
journeys an admin makes with the keyboard alone.

axe-core is vendored in tests/browser/vendor (from the npm registry, with its licence) and
injected by Playwright as a DevTools script: the app never serves it and its CSP is unchanged.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
BLOCKING_IMPACTS = {"serious", "critical"}

# Every page an admin reaches (signed in). The subscribers of Free (it has demo subscribers);
# a plan page with subscribers (Pro) and its forms; an error page; a form refused for its
# errors is scanned by test_a_refused_form_has_no_serious_violations.
SIGNED_IN_PAGES = [
    "/admin/",
    "/admin/plans",
    "/admin/plans?q=pro&sort=-mrr",
    "/admin/plans/pro",
    "/admin/plans/new",
    "/admin/plans/pro/edit",
    "/admin/plans/pro/prices/move",
    "/admin/plans/free/delete",
    "/admin/plans/free/subscribers",
    "/admin/subscribers",
    "/admin/subscribers?q=demo&sort=period_end",
    "/admin/audit",
    "/admin/accounts",
    "/account",
    "/admin/plans/no_such_plan",  # the 404 page
]
SIGNED_OUT_PAGES = ["/login", "/login?next=/admin/plans"]
# One subscriber's pages, reached from the first row of /admin/subscribers (their ids are made
# by the demo data): the subscription, its user, and the forms of its actions.
SUBSCRIPTION_PAGES = ["", "/change-plan", "/extend", "/cancel"]


def subscription_pages(page: Page) -> list[str]:
    """The subscription pages of the first subscriber listed, and their user's page."""
    page.goto("/admin/subscribers")
    subscription = page.locator("main a[href*='/admin/subscriptions/']").first
    path = subscription.get_attribute("href")
    page.goto(path)
    user = page.locator("main a[href*='/admin/users/']").first.get_attribute("href")
    return [path + suffix for suffix in SUBSCRIPTION_PAGES] + [user]


def axe_violations(page: Page) -> list[str]:
    """The serious and critical axe-core violations on the page as it is now, one line each
    with the elements concerned (details opened first, so the charts' tables count)."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    violations = page.evaluate(
        """async () => {
          const result = await axe.run(document, { resultTypes: ["violations"] });
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ")
                                             + " :: " + (n.failureSummary || "").slice(0, 200)),
          }));
        }"""
    )
    return [
        f"{v['impact']} {v['id']} ({v['help']}): " + " | ".join(v["nodes"])
        for v in violations
        if v["impact"] in BLOCKING_IMPACTS
    ]


def with_axe(page: Page) -> Page:
    page.context.add_init_script(script=AXE_SOURCE)
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
@pytest.mark.parametrize("locale", ["en", "ru"])
def test_every_page_has_no_serious_accessibility_violations(page_as, locale, screen, scheme):
    found = {}
    page = with_axe(page_as(locale, screen, scheme))
    for path in SIGNED_IN_PAGES + subscription_pages(page):
        page.goto(path)
        found[path] = axe_violations(page)
    signed_out = with_axe(page_as(locale, screen, scheme, signed_in=False))
    for path in SIGNED_OUT_PAGES:
        signed_out.goto(path)
        expect(signed_out.locator("#email")).to_be_visible()
        found[path] = axe_violations(signed_out)
    report = {path: lines for path, lines in found.items() if lines}
    assert report == {}, "\n".join(
        f"{path}:\n  " + "\n  ".join(lines) for path, lines in report.items()
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("locale", ["en", "ru"])
def test_a_refused_form_has_no_serious_violations(page_as, locale, scheme):
    page = with_axe(page_as(locale, "desktop", scheme))
    page.goto("/admin/plans/new")
    page.locator("#price").fill("-5")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator(".field-error").first).to_be_visible()
    assert axe_violations(page) == []


# -- The focus ring ----------------------------------------------------------------------------


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    """WCAG contrast ratio of two opaque sRGB colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first[:3]), _luminance(second[:3])), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def rgb(css: str) -> tuple[float, ...]:
    """ "rgb(1, 2, 3)" or "rgba(1, 2, 3, 0.5)" (Chromium's computed colours) as numbers."""
    numbers = tuple(float(n) for n in re.findall(r"[\d.]+", css))
    assert len(numbers) == 3 or numbers[3] == 1, f"{css} is translucent"
    return numbers[:3]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_focus_ring_has_3_to_1_against_the_page(page_as, scheme):
    page = page_as("en", "desktop", scheme)
    page.goto("/admin/plans")
    page_background = rgb(
        page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    )
    seen = set()
    # Tab through the page: every element that takes focus shows a solid ring of 3:1 or more.
    for _ in range(25):
        page.keyboard.press("Tab")
        ring = page.evaluate(
            """() => {
              const e = document.activeElement, s = getComputedStyle(e);
              return { tag: e.tagName, text: (e.textContent || e.value || '').trim().slice(0, 30),
                       style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                       color: s.outlineColor };
            }"""
        )
        seen.add(ring["tag"])
        assert ring["style"] == "solid" and ring["width"] >= 2, ring
        ratio = contrast(rgb(ring["color"]), page_background)
        assert ratio >= 3, f"{ring}: {ratio:.2f}:1 against the page"
    assert {"A", "BUTTON"} <= seen


# -- Keyboard only -----------------------------------------------------------------------------


def focused(page: Page) -> str:
    """The id (or else the text) of the element that has the keyboard focus."""
    return page.evaluate(
        "() => document.activeElement.id || document.activeElement.textContent.trim()"
    )


def tab_to(page: Page, target: str, limit: int = 60) -> None:
    """Press Tab until the element with this id (or text) has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == target:
            return
    pytest.fail(f"{target!r} was not reached with Tab ({limit} presses)")


def test_sign_in_with_the_keyboard_only(page_as, admins, live_server):
    page = page_as("en", signed_in=False)
    email = admins.email("en")
    admins.state("en")  # the account exists
    page.goto("/login")
    assert focused(page) == "email"  # the field has the focus on arrival
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert focused(page) == "password"
    page.keyboard.type(admins.password)
    page.keyboard.press("Tab")
    assert focused(page) == "Sign in"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    # The skip link is the first stop and moves the focus past the navigation.
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to content"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#content$"))


def test_create_a_plan_with_the_keyboard_only(page_as, live_server):
    page = page_as("en")
    page.goto("/admin/plans")
    tab_to(page, "New plan")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New plan", level=1)).to_be_visible()
    tab_to(page, "id")
    page.keyboard.type("keyboard_plan")
    page.keyboard.press("Tab")
    assert focused(page) == "name"
    page.keyboard.type("Keyboard Plan")
    tab_to(page, "price")
    page.keyboard.type("990")
    page.keyboard.press("Tab")
    assert focused(page) == "currency"
    for field, amount in [("tokens_input", "100000"), ("tokens_output", "50000")]:
        tab_to(page, field)
        page.keyboard.type(amount)
    # An Unlimited box is ticked with the space bar.
    tab_to(page, "requests_unlimited")
    page.keyboard.press("Space")
    expect(page.locator("#requests_unlimited")).to_be_checked()
    tab_to(page, "Create plan")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/plans/keyboard_plan$"))
    expect(page.locator("p.notice")).to_have_text("Plan 'keyboard_plan' created.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Keyboard Plan")
    expect(page.get_by_role("row", name="Quotas per period")).to_contain_text("Requests: unlimited")


def test_filter_subscribers_with_the_keyboard_only(page_as, live_server):
    page = page_as("en")
    page.goto("/admin/plans/free/subscribers")
    tab_to(page, "status")
    # A closed select changes with the arrow keys: All statuses → Active.
    page.keyboard.press("ArrowDown")
    expect(page.locator("#status")).to_have_value("active")
    page.keyboard.press("Tab")
    assert focused(page) == "q"
    page.keyboard.type("example.com")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"status=active"))
    expect(page).to_have_url(re.compile(r"q=example\.com"))
    rows = page.locator("table tbody tr")
    expect(rows.first).to_be_visible()
    for index in range(rows.count()):
        expect(rows.nth(index).locator(".badge")).to_have_text("active")
    # And the filtered list is reachable past the form with Tab: the first pager or table stop.
    tab_to(page, "Filter")
