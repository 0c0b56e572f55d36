"""Layout, measured in a real browser: numbers that never break, actions never cut, hints that
do not collide with fields, forms that can be left, boxes that show their content, and the same
header on every page, in English and Russian on a 1366 px laptop and a 390 px phone.

Each admin here has an account of its own with its language saved (conftest ``page_as``)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.layout import (
    is_cut,
    line_count,
    outside_the_window,
    overlaps,
    sideways_overflow,
)

LOCALES = ["en", "ru"]
SCREENS = ["desktop", "phone"]
# Pages every signed-in admin reaches from the navigation or a plan (the subscribers of the
# seeded Free plan, which has demo subscribers).
HEADER_PAGES = [
    "/admin/",
    "/admin/plans",
    "/admin/plans/pro",
    "/admin/plans/pro/edit",
    "/admin/plans/new",
    "/admin/plans/free/subscribers",
    "/admin/subscribers",
    "/admin/audit",
    "/admin/accounts",
    "/account",
]
# An amount longer than any the demo data has: the MRR card must hold it on one line too.
LONG_AMOUNT = {"en": "RUB 12,345,678.90", "ru": "12 345 678,90 ₽"}


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("locale", LOCALES)
def test_dashboard_figures_never_break_a_number(page_as, locale, screen):
    page = page_as(locale, screen)
    page.goto("/admin/")
    figures = page.locator(".figures .figure")
    expect(figures.first).to_be_visible()
    # The MRR card with a ten-digit amount (as a busy platform has), then every figure as shown.
    page.locator(".figures article").nth(1).locator(".figure").first.evaluate(
        "(element, text) => { element.textContent = text; }", LONG_AMOUNT[locale]
    )
    for index in range(figures.count()):
        figure = figures.nth(index)
        text = figure.inner_text()
        assert line_count(figure) == 1, f"{text!r} takes more than one line"
        assert not is_cut(figure), f"{text!r} does not fit its card"
    assert sideways_overflow(page) == 0


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("locale", LOCALES)
def test_plan_list_actions_are_never_cut(page_as, locale, screen):
    page = page_as(locale, screen)
    page.goto("/admin/plans")
    actions = page.locator(".row-actions a, .row-actions button")
    expect(actions.first).to_be_visible()
    deactivate = {"en": "Deactivate", "ru": "Деактивировать"}[locale]
    expect(page.get_by_role("button", name=deactivate, exact=True).first).to_be_visible()
    for index in range(actions.count()):
        action = actions.nth(index)
        assert not is_cut(action), f"{action.inner_text()!r} is cut"
        assert line_count(action) == 1, f"{action.inner_text()!r} wraps"
    # Every action is on screen without scrolling sideways.
    assert outside_the_window(page, ".row-actions a, .row-actions button") == []
    assert sideways_overflow(page) == 0


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("path", ["/admin/plans/pro/edit", "/admin/plans/new"])
def test_plan_form_hints_and_fields_never_overlap(page_as, locale, screen, path):
    page = page_as(locale, screen)
    page.goto(path)
    expect(page.locator("#requests_unlimited")).to_be_visible()
    assert overlaps(page, "main form", "label, input, select, textarea, small, button") == []
    assert sideways_overflow(page) == 0


def test_the_features_box_shows_every_feature(page_as):
    page = page_as("en")
    page.goto("/admin/plans/pro/edit")
    features = page.locator("#features")
    lines = [line for line in features.input_value().splitlines() if line.strip()]
    assert len(lines) >= 10  # Pro has ten in the standard plans
    assert not is_cut(features), "the Features box scrolls: some features are hidden"


def test_a_long_features_list_scrolls_inside_a_box_of_at_most_16_lines(page_as):
    page = page_as("en")
    page.goto("/admin/plans/new")
    page.get_by_label("Features").fill("\n".join(f"Feature {n}" for n in range(1, 41)))
    page.get_by_role("button", name="Create plan").click()  # refused: no name, no price
    features = page.locator("#features")
    expect(features).to_have_attribute("rows", "16")


@pytest.mark.parametrize("locale", LOCALES)
def test_cancel_leaves_the_edit_form_without_saving(page_as, locale):
    page = page_as(locale)
    page.goto("/admin/plans/business/edit")
    name = page.locator("#name")
    before = name.input_value()
    name.fill("Not saved")
    page.get_by_role("button", name={"en": "Cancel", "ru": "Отмена"}[locale]).click()
    expect(page).to_have_url(re.compile(r"/admin/plans/business$"))
    page.goto("/admin/plans/business/edit")
    expect(page.locator("#name")).to_have_value(before)


def test_cancel_leaves_the_new_plan_form_for_the_plan_list(page_as):
    page = page_as("en")
    page.goto("/admin/plans/new")
    page.locator("#name").fill("Never created")
    page.get_by_role("button", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/admin/plans$"))
    expect(page.get_by_text("Never created")).to_have_count(0)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_dashboard_marks_inactive_plans(page_as, locale):
    page = page_as(locale)
    page.goto("/admin/")
    inactive = {"en": "Inactive", "ru": "Неактивен"}[locale]
    rows = page.locator("section table tbody tr")
    unlimited = rows.filter(has=page.locator('a[href$="/admin/plans/unlimited"]'))
    pro = rows.filter(has=page.locator('a[href$="/admin/plans/pro"]'))
    expect(unlimited.locator(".badge-inactive")).to_have_text(inactive)
    expect(pro.locator(".badge-inactive")).to_have_count(0)


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("locale", LOCALES)
def test_the_header_is_the_same_on_every_page(page_as, locale, screen):
    page = page_as(locale, screen)
    heights = {}
    for path in HEADER_PAGES:
        response = page.goto(path)
        assert response.status == 200, path
        header = page.locator("header.container")
        heights[path] = round(header.bounding_box()["height"])
        brand = page.locator("header .brand")
        assert line_count(brand) == 1, f"{path}: the brand wraps"
        links = page.locator("header nav a")
        for index in range(links.count()):
            link = links.nth(index)
            if link.is_visible():
                assert line_count(link) == 1, f"{path}: {link.inner_text()!r} wraps"
        assert overlaps(page, "header", "li") == [], path
        # The current section is marked so it can be seen (underlined, not bolded: a bold
        # link would be wider and wrap the header differently).
        current = page.locator('header nav a[aria-current="page"]')
        if current.count():
            decoration = current.evaluate(
                "a => [getComputedStyle(a).textDecorationLine, getComputedStyle(a).fontWeight,"
                " getComputedStyle(a).textDecorationColor]"
            )
            assert decoration[0] == "underline", (path, decoration)
            assert "rgba(0, 0, 0, 0)" not in decoration[2], (path, decoration)
        assert sideways_overflow(page) == 0, path
        if screen == "desktop":
            # Two rows, whatever the page and the language: the brand with the admin's own
            # controls, then every section and the search on one line.
            brand_box = brand.bounding_box()
            account = page.locator("header ul.nav-account").bounding_box()
            middle = {
                "brand": brand_box["y"] + brand_box["height"] / 2,
                "account": account["y"] + account["height"] / 2,
            }
            assert abs(middle["account"] - middle["brand"]) < 8, (path, "a third row", middle)
            sections = page.locator("header ul.nav-sections > li")
            boxes = [sections.nth(i).bounding_box() for i in range(sections.count())]
            middles = [box["y"] + box["height"] / 2 for box in boxes]
            assert max(middles) - min(middles) < 8, (path, "the sections wrapped", middles)
    assert len(set(heights.values())) == 1, heights


# -- Phones ------------------------------------------------------------------------------------

TABLE_PAGES = [
    "/admin/",
    "/admin/plans",
    "/admin/plans/pro",
    "/admin/plans/free/subscribers",
    "/admin/subscribers",
    "/admin/audit",
    "/admin/accounts",
    "/account",
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("path", TABLE_PAGES)
def test_on_a_phone_tables_are_cards_with_status_and_actions_on_screen(page_as, locale, path):
    page = page_as(locale, "phone")
    response = page.goto(path)
    assert response.status == 200
    expect(page.locator("main table").first).to_be_visible()
    assert sideways_overflow(page) == 0
    # Every cell, status badge and action of the record tables is on screen as it is.
    assert outside_the_window(page, "table.cards td, table.cards .badge") == []
    assert outside_the_window(page, "table.cards button, table.cards [role=button]") == []
    # Each card says what each value is: the column's name beside it.
    labelled = page.locator("table.cards td[data-label]").first
    label = labelled.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label.strip('"') == labelled.get_attribute("data-label")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("path", TABLE_PAGES)
def test_a_region_that_still_scrolls_sideways_is_reachable_by_keyboard(page_as, locale, path):
    page = page_as(locale, "phone")
    page.goto(path)
    # Open every chart's table of numbers, so their regions are measured too.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    regions = page.evaluate(
        """() => [...document.querySelectorAll('*')]
          .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                       && e.scrollWidth > e.clientWidth + 1)
          .map(e => ({tabindex: e.getAttribute('tabindex'), label: e.getAttribute('aria-label')
                      || e.getAttribute('aria-labelledby'), html: e.outerHTML.slice(0, 80)}))"""
    )
    for region in regions:
        assert region["tabindex"] == "0" and region["label"], region


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("path", ["/admin/", "/admin/plans/pro"])
def test_on_a_phone_chart_text_stays_legible(page_as, locale, path):
    page = page_as(locale, "phone")
    page.goto(path)
    expect(page.locator("svg.chart-svg").first).to_be_visible()
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart-svg text')]
          .filter(t => getComputedStyle(t).display !== 'none')
          .map(t => {
            const svg = t.ownerSVGElement;
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return [t.textContent, parseFloat(getComputedStyle(t).fontSize) * scale];
          })"""
    )
    assert sizes
    small = [(text, round(size, 1)) for text, size in sizes if size < 9.5]
    assert small == [], "chart text under 9.5 px on screen"
    assert sideways_overflow(page) == 0
