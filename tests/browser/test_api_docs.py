"""/api/docs in a real browser: Swagger UI (vendored) renders the API's document under the
app's own CSP, without 'unsafe-inline' (the fixture fails the test on any CSP violation), lists
the write endpoints, and "Try it out" reaches the API with the session."""

import re

from playwright.sync_api import expect


def test_the_api_reference_renders_every_endpoint_and_tries_one(signed_in_page, live_server):
    page = signed_in_page
    response = page.goto("/api/docs")
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'self';") and "unsafe" not in csp  # the app's own policy
    expect(page.locator(".opblock").first).to_be_visible()
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    paths = {re.sub(r"\s+", "", text) for text in summaries}
    assert {
        "/api/v1/admin/billing/plans",
        "/api/v1/admin/billing/plans/{plan_id}",
        "/api/v1/admin/billing/plans/{plan_id}/toggle",
        "/api/v1/admin/billing/plans/{plan_id}/duplicate",
    } <= paths
    # Try it out: GET the list of plans with the browser's session.
    block = page.locator("#operations-default-listPlans")
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    expect(block.locator(".response .response-col_status").first).to_have_text("200")


def test_anonymous_visitors_are_sent_to_sign_in(page, live_server):
    page.goto("/api/docs")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)api(/|%2F)docs$"))
