"""Browser journeys of the form machinery (docs/forms.md): a form sent twice (double click,
with and without JavaScript) makes one plan and leads to it; Duplicate clicked twice makes one
copy; the character count; the error summary takes the focus."""

import re
import sqlite3
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ACTION_TIMEOUT_MS, VIEWPORT, sign_in


def query(server, sql: str, *params) -> list[tuple]:
    connection = sqlite3.connect(f"file:{server.database_path}?mode=ro", uri=True)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


@pytest.fixture
def page_without_javascript(browser, live_server) -> Iterator[Page]:
    """A browser with JavaScript off: nothing stops a second click there but the server."""
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORT, java_script_enabled=False, locale="en-GB"
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, live_server)
    yield page
    context.close()


def fill_plan(page: Page, name: str) -> None:
    page.goto("/admin/plans/new")
    page.get_by_label("Name", exact=True).fill(name)  # the id is made from the name
    page.get_by_label("Price", exact=True).fill("1,490.50")
    page.get_by_label("Unlimited plan (no quotas at all)").check()


def posts_to(page: Page, path: str) -> list[str]:
    sent: list[str] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.url)
            if request.method == "POST" and request.url.endswith(path)
            else None
        ),
    )
    return sent


def test_new_plan_double_clicked_without_javascript_makes_one_plan(
    page_without_javascript, live_server
):
    page = page_without_javascript
    fill_plan(page, "Double Nojs")
    sent = posts_to(page, "/admin/plans/new")
    page.get_by_role("button", name="Create plan").dblclick()
    expect(page).to_have_url(re.compile(r"/admin/plans/double_nojs$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Double Nojs")
    assert sent  # (Chromium may or may not send the second click: either way...)
    ids = query(live_server, "SELECT id FROM billing_plan WHERE id LIKE 'double_nojs%'")
    assert ids == [("double_nojs",)]  # ...one plan, not double_nojs_2


def test_a_resent_form_leads_to_the_first_result(page_without_javascript, live_server):
    """The same form sent again (the browser's resend of a kept page): the first's result."""
    page = page_without_javascript
    fill_plan(page, "Resent Plan")
    form_data = page.evaluate(
        "() => Array.from(new FormData(document.querySelector('main form')).entries())"
    )
    page.get_by_role("button", name="Create plan").click()
    expect(page).to_have_url(re.compile(r"/admin/plans/resent_plan$"))
    again = page.request.post("/admin/plans/new", form=dict(form_data), max_redirects=0)
    assert again.status == 303
    assert again.headers["location"] == "/admin/plans/resent_plan"
    assert query(live_server, "SELECT id FROM billing_plan WHERE id LIKE 'resent_plan%'") == [
        ("resent_plan",)
    ]


def test_duplicate_double_clicked_makes_one_copy(page_without_javascript, live_server):
    page = page_without_javascript
    copies = "SELECT id FROM billing_plan WHERE id LIKE 'starter_copy%' ORDER BY id"
    before = query(live_server, copies)  # another journey may have made one already
    page.goto("/admin/plans/starter")
    page.get_by_role("button", name="Duplicate").dblclick()
    expect(page).to_have_url(re.compile(r"/admin/plans/starter_copy(_[0-9]+)?/edit$"))
    after = query(live_server, copies)
    assert len(after) == len(before) + 1
    [(new_copy,)] = set(after) - set(before)
    assert page.url.endswith(f"/admin/plans/{new_copy}/edit")


def test_with_javascript_a_submitted_form_sends_once(signed_in_page, live_server):
    page = signed_in_page
    fill_plan(page, "Double Js")
    sent = posts_to(page, "/admin/plans/new")
    button = page.get_by_role("button", name="Create plan")
    button.evaluate("button => { button.click(); button.click(); }")
    expect(page).to_have_url(re.compile(r"/admin/plans/double_js$"))
    assert len(sent) == 1
    assert query(live_server, "SELECT id FROM billing_plan WHERE id LIKE 'double_js%'") == [
        ("double_js",)
    ]


def test_the_description_counts_characters_and_is_never_cut(signed_in_page, live_server):
    page = signed_in_page
    page.goto("/admin/plans/new")
    description = page.get_by_label("Description", exact=True)
    count = page.locator("#description-count")
    expect(count).to_have_text("0 of 1,000 characters")
    description.fill("d" * 5000)
    expect(description).to_have_value("d" * 5000)  # not cut by the browser
    expect(count).to_contain_text("5,000 of 1,000 characters")
    expect(count).to_contain_text("Too long by 4,000: shorten it before saving.")
    expect(description).to_have_accessible_description(re.compile(r"5,000 of 1,000"))

    page.get_by_label("Name", exact=True).fill("Long Description")
    page.get_by_label("Price", exact=True).fill("100")
    page.get_by_label("Unlimited plan (no quotas at all)").check()
    page.get_by_role("button", name="Create plan").click()
    expect(page.locator("#description-errors")).to_have_text("Must be at most 1,000 characters.")
    expect(description).to_have_value("d" * 5000)
    summary = page.get_by_role("alert").filter(has_text="The form was not saved")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name="Description").click()
    expect(description).to_be_focused()
    assert query(live_server, "SELECT id FROM billing_plan WHERE id = 'long_description'") == []
