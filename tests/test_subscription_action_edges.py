"""The subscription pages and the actions on a subscription at their edges (issues 13 and 14),
found by trying to break them: periods ending near the year 9999, a plan without a current
price, a price changed between review and confirmation, a long history, an expired page; and
odd inputs that already had a defined answer."""

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor
from billing_admin.extensions import db
from billing_admin.models import Price
from billing_admin.subscriptions import actions
from tests.helpers import (
    add_plan,
    add_user,
    bearer,
    change_plan,
    csrf_token_from,
    make_token,
)
from tests.helpers import stored_subscription as stored
from tests.helpers import subscription_at_version_one as subscription
from tests.helpers import subscription_entries as entries

BILLING = "/api/v1/admin/billing"
NOW = 1_800_000_000
DAY = 86_400
LAST_SECOND_OF_9999 = 253_402_300_799  # 9999-12-31 23:59:59 UTC, "forever" in many systems


@pytest.fixture
def plans(app, set_clock):
    set_clock(NOW)
    add_plan("pro")
    add_plan("business", price=Decimal("4990.00"))
    add_plan("legacy", price=Decimal("99.00"), is_active=False)


@pytest.fixture
def token(plans, admin, runner) -> dict[str, str]:
    return bearer(make_token(runner, scope="write"))


def csrf(client) -> str:
    return csrf_token_from(client.get("/admin/plans").get_data(as_text=True))


def page_post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf(client), **data})


def assert_json_4xx(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    assert "detail" in response.get_json()


# --- A period end past the year 9999 ----------------------------------------------------------


def test_extending_a_period_past_the_year_9999_is_refused_by_the_days(plans, admin_client):
    """A "forever" subscription (period end 9999-12-29) extended by 5 days would end in the
    year 10000, which no page can show: the days are refused beside their field (422, the
    typed "5" kept), nothing written. (It was a 500 on the confirmation step.)"""
    sub = subscription(current_period_end=LAST_SECOND_OF_9999 - 2 * DAY)
    response = page_post(
        admin_client, f"/admin/subscriptions/{sub.id}/extend", days="5", version="1"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="days-errors"' in html and 'value="5"' in html
    assert "cannot end after 31 December 9999" in html
    assert stored(sub.id).version == 1


def test_an_extension_to_the_last_second_of_9999_is_allowed_and_one_past_it_refused(token, client):
    """Through the API: 400 ``days_out_of_range`` with field ``days`` one day past
    9999-12-31 23:59:59 UTC (it was accepted, and every page of the subscription was then a
    500), accepted up to it."""
    sub = subscription(current_period_end=LAST_SECOND_OF_9999 - 2 * DAY)
    url = f"{BILLING}/subscriptions/{sub.id}/extend"
    refused = client.post(url, headers=token, json={"days": 3})
    assert refused.status_code == 400
    assert (refused.get_json()["code"], refused.get_json()["field"]) == (
        "days_out_of_range",
        "days",
    )
    assert stored(sub.id).version == 1 and entries(sub.id) == []
    done = client.post(url, headers=token, json={"days": 2})
    assert done.status_code == 200
    assert stored(sub.id).current_period_end == LAST_SECOND_OF_9999


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Moscow", "America/Los_Angeles", "Pacific/Kiritimati"]
)
@pytest.mark.parametrize(
    "end", [LAST_SECOND_OF_9999, LAST_SECOND_OF_9999 + 400 * DAY, 2**62, -(2**62)]
)
def test_pages_and_exports_show_ends_beyond_the_years_a_date_holds(
    plans, admin_client, app, zone, end
):
    """A period end written directly (the platform, psql) past 9999 or before year 1, in any
    time zone: the subscription's page, its user's page, the subscriber tables and their
    exports still answer (the date shown is the nearest one that can be: zones.py). It was a
    500 ("year 10000 is out of range")."""
    app.config["DISPLAY_TIMEZONE"] = zone
    sub = subscription(current_period_end=end, trial_end=end)
    for url in (
        f"/admin/subscriptions/{sub.id}",
        f"/admin/users/{sub.user_id}",
        f"/admin/subscriptions/{sub.id}/extend",
        "/admin/subscribers",
        "/admin/plans/pro/subscribers?sort=period_end",
        "/admin/subscribers.csv",
        "/admin/subscribers.xlsx",
        "/admin/",
    ):
        response = admin_client.get(url, buffered=True)
        assert response.status_code == 200, (url, response.status_code)
    html = admin_client.get(f"/admin/subscriptions/{sub.id}").get_data(as_text=True)
    assert ("9999" if end > 0 else "0001") in html


# --- A plan without a current price -------------------------------------------------------------


def test_change_plan_to_a_plan_without_a_current_price_is_refused(token, client, admin_client):
    """When the target plan has no open price (its last price closed by a direct write, as the
    platform or psql may do: the database allows it), the change is refused (400
    ``no_current_price``, field ``plan_id``; on the page beside the plan, 422) for the dry run
    and the action alike, nothing written. (It was a KeyError: a 500.)"""
    db.session.execute(
        sa.update(Price)
        .where(Price.plan_id == "business", Price.active_until.is_(None))
        .values(active_until=NOW - 10)
    )
    db.session.commit()
    sub = subscription()
    for body in ({"plan_id": "business", "dry_run": True}, {"plan_id": "business"}):
        response = client.post(
            f"{BILLING}/subscriptions/{sub.id}/change-plan", headers=token, json=body
        )
        assert response.status_code == 400
        assert response.get_json()["code"] == "no_current_price"
        assert response.get_json()["field"] == "plan_id"
    page = page_post(
        admin_client, f"/admin/subscriptions/{sub.id}/change-plan", plan_id="business", version="1"
    )
    assert page.status_code == 422
    assert "has no current price" in page.get_data(as_text=True)
    assert stored(sub.id).plan_id == "pro" and entries(sub.id) == []


# --- The confirmed change is the one reviewed ---------------------------------------------------


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the confirmation form (what the browser posts back)."""
    form = html.split('id="confirm-heading"', 1)[1].split("</form>", 1)[0]
    fields = {}
    for tag in re.findall(r"<input [^>]*>", form):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag).group(1)
            fields[name] = re.search(r'value="([^"]*)"', tag).group(1)
    return fields


def test_confirming_a_plan_change_after_the_new_plans_price_changed_is_a_conflict(
    plans, admin_client
):
    """The admin reviews "pro → business, RUB 1,490 → RUB 4,990 / month"; meanwhile another
    admin raises business's price to 5,990; the confirmation (carrying the price reviewed) is
    refused (409) and shows the change at the new price to confirm again; nothing is changed.
    Confirming that one then acts, at 5,990. (The subscription moved to 5,990 without a word.)"""
    sub = subscription()
    url = f"/admin/subscriptions/{sub.id}/change-plan"
    review = page_post(admin_client, url, plan_id="business", version="1")
    assert "RUB\u00a04,990.00 / month" in review.get_data(as_text=True)
    reviewed = hidden_fields(review.get_data(as_text=True))
    assert reviewed["plan_id"] == "business" and reviewed["reviewed_price_id"]
    change_plan("business", actor_name="other@example.com", price=Decimal("5990.00"))
    confirm = admin_client.post(url, data={**reviewed, "confirm": "1"})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 409
    assert "changed since you reviewed this change" in html
    assert "RUB\u00a05,990.00 / month" in html
    assert stored(sub.id).plan_id == "pro" and entries(sub.id) == []
    again = admin_client.post(url, data={**hidden_fields(html), "confirm": "1"})
    assert again.status_code == 302
    assert stored(sub.id).plan_id == "business"
    [entry] = entries(sub.id)
    assert entry.audit_metadata["prices"]["new"]["amount"] == "5990.00"


def test_a_plan_change_confirmed_without_the_reviewed_price_is_reviewed_not_done(
    plans, admin_client
):
    """A confirmation posted without the price reviewed (not from the confirmation step) is
    shown for review instead of acting."""
    sub = subscription()
    response = page_post(
        admin_client,
        f"/admin/subscriptions/{sub.id}/change-plan",
        plan_id="business",
        version="1",
        confirm="1",
    )
    assert response.status_code == 200
    assert "What will change" in response.get_data(as_text=True)
    assert stored(sub.id).plan_id == "pro" and entries(sub.id) == []


# --- A history longer than the page shows ------------------------------------------------------


def test_a_history_longer_than_the_page_says_so_and_links_to_every_entry(plans, admin_client):
    """The subscription's page lists the newest 100 entries (HISTORY_LIMIT); with 101 it says
    "The newest 100 of 101 entries" and links to the audit log filtered to this subscription,
    which lists all 101. (The oldest was dropped without a word.)"""
    sub = subscription()
    version = 1
    for _ in range(101):
        version = actions.extend_period(
            sub.id, 1, expected_version=version, actor=Actor("a@example.com")
        ).subscription.version
    html = admin_client.get(f"/admin/subscriptions/{sub.id}").get_data(as_text=True)
    history = html.split('id="history-heading"', 1)[1]
    assert history.count("<li>") == 100
    assert "The newest 100 of 101 entries." in history
    link = f"/admin/audit?subscription={sub.id}"
    assert f'href="{link}"' in history
    audit = admin_client.get(f"{link}&page_size=100").get_data(as_text=True)
    assert "Showing 1–100 of 101" in audit
    assert f"Only the entries about subscription {sub.id}." in audit
    assert f'name="subscription" value="{sub.id}"' in audit  # kept by the filter form


def test_a_short_history_has_no_note(plans, admin_client):
    sub = subscription()
    actions.pause(sub.id, expected_version=1, actor=Actor("a@example.com"))
    html = admin_client.get(f"/admin/subscriptions/{sub.id}").get_data(as_text=True)
    assert "The newest" not in html and "/admin/audit?subscription=" not in html


# --- Edge cases that already work -----------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["٥", "1e3", "99999999999999999999999", "+5", "0x10", "-0", "5.0", "x" * 2000]
)
def test_extend_refuses_days_in_other_digits_and_notations_by_the_field(plans, admin_client, typed):
    """Arabic-Indic digits, exponents, signs, hex, 20+ digits: refused beside the field (422),
    the typed text kept, nothing written."""
    sub = subscription()
    response = page_post(
        admin_client, f"/admin/subscriptions/{sub.id}/extend", days=typed, version="1"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="days-errors"' in html and f'value="{typed}"' in html
    assert stored(sub.id).version == 1


@pytest.mark.parametrize("typed, days", [(" 5 ", 5), ("05", 5), ("366", 366), ("5\u00a0", 5)])
def test_extend_accepts_days_with_spaces_and_leading_zeros(plans, admin_client, typed, days):
    sub = subscription()
    url = f"/admin/subscriptions/{sub.id}/extend"
    review = page_post(admin_client, url, days=typed, version="1")
    assert review.status_code == 200 and "What will change" in review.get_data(as_text=True)
    done = page_post(admin_client, url, days=typed, version="1", confirm="1")
    assert done.status_code == 302
    row = stored(sub.id)
    assert row.current_period_end == 1_702_592_000 + days * DAY
    [entry] = entries(sub.id)
    assert entry.audit_metadata["days"] == days


@pytest.mark.parametrize("version", ["٢", "1.0", "", "99999999999999999999"])
def test_a_version_that_is_no_plain_number_is_refused_and_nothing_written(
    plans, admin_client, version
):
    sub = subscription()
    response = page_post(
        admin_client, f"/admin/subscriptions/{sub.id}/cancel", version=version, confirm="1"
    )
    assert response.status_code == 409
    assert "version is missing" in response.get_data(as_text=True)
    assert stored(sub.id).status == "active" and entries(sub.id) == []


def test_a_double_submitted_confirmation_acts_once(plans, admin_client):
    """The same confirmation posted twice (a double click): one action, one audit entry; the
    second is sent to the first's result."""
    sub = subscription()
    url = f"/admin/subscriptions/{sub.id}/pause"
    html = admin_client.get(f"{url}?version=1").get_data(as_text=True)
    once = re.search(r'name="submission_token" type="hidden" value="([^"]+)"', html).group(1)
    data = {"csrf_token": csrf_token_from(html), "version": "1", "confirm": "1"}
    first = admin_client.post(url, data={**data, "submission_token": once})
    second = admin_client.post(url, data={**data, "submission_token": once})
    assert first.status_code in (302, 303) and second.status_code in (302, 303)
    assert second.headers["Location"] == f"/admin/subscriptions/{sub.id}"
    assert stored(sub.id).version == 2
    assert [e.action for e in entries(sub.id)] == ["subscription_paused"]


def test_a_confirmation_without_csrf_writes_nothing(plans, admin_client):
    sub = subscription()
    response = admin_client.post(
        f"/admin/subscriptions/{sub.id}/cancel", data={"version": "1", "confirm": "1"}
    )
    assert response.status_code == 400
    assert stored(sub.id).status == "active" and entries(sub.id) == []


def test_a_viewer_signed_in_cannot_act_through_the_api(plans, viewer_client):
    sub = subscription()
    token = csrf_token_from(viewer_client.get("/account").get_data(as_text=True))
    headers = {"X-CSRFToken": token}
    pause = viewer_client.post(f"{BILLING}/subscriptions/{sub.id}/pause", headers=headers)
    put = viewer_client.put(
        f"{BILLING}/users/{sub.user_id}/subscription",
        headers=headers,
        json={"plan_id": "business"},
    )
    assert pause.status_code == put.status_code == 403
    assert pause.get_json() == {"detail": "Viewers may only read."}
    assert stored(sub.id).version == 1 and entries(sub.id) == []


def test_an_idempotency_key_reused_on_another_subscription_is_422_and_does_nothing(token, client):
    first, other = subscription(), subscription()
    headers = {**token, "Idempotency-Key": "extend-once"}
    done = client.post(
        f"{BILLING}/subscriptions/{first.id}/extend", headers=headers, json={"days": 2}
    )
    assert done.status_code == 200
    reused = client.post(
        f"{BILLING}/subscriptions/{other.id}/extend", headers=headers, json={"days": 2}
    )
    assert reused.status_code == 422 and "different request" in reused.get_json()["detail"]
    assert stored(other.id).version == 1 and entries(other.id) == []


@pytest.mark.parametrize(
    "body, status",
    [
        ({"days": 10**30}, 400),  # a whole number, far out of range: the service's refusal
        ({"days": -1}, 400),
        ({"days": True}, 422),
        ({"days": 5.0}, 422),
        ({"days": None}, 422),
    ],
)
def test_api_extend_days_out_of_range_or_of_another_type(token, client, body, status):
    sub = subscription()
    response = client.post(f"{BILLING}/subscriptions/{sub.id}/extend", headers=token, json=body)
    assert response.status_code == status
    assert_json_4xx(response)
    assert stored(sub.id).version == 1 and entries(sub.id) == []


@pytest.mark.parametrize(
    "url, status",
    [
        ("/admin/subscriptions/" + "я" * 3000, 404),
        ("/admin/users/" + "\U0001f600" * 100, 404),
        ("/admin/subscriptions/%00", 400),
        ("/admin/subscriptions/" + "a" * 5000 + "/cancel", 404),
        (f"{BILLING}/subscriptions/" + "я" * 3000, 404),
        (f"{BILLING}/users/" + "я" * 3000 + "/subscription", 404),
    ],
)
def test_huge_and_unicode_ids_are_not_found(token, admin_client, url, status):
    headers = token if url.startswith(BILLING) else {}
    assert admin_client.get(url, headers=headers).status_code == status


def test_a_user_without_any_subscription_has_a_page(plans, admin_client):
    user = add_user("zero@example.com")
    db.session.commit()
    response = admin_client.get(f"/admin/users/{user.id}")
    assert response.status_code == 200
    assert "zero@example.com" in response.get_data(as_text=True)


# --- A confirmation refused for its CSRF token says so ------------------------------------------

EXPIRED = (
    "This page had expired (or you signed in again elsewhere), so nothing was saved. What you "
    "typed is still here: check it and submit again."
)


@pytest.mark.parametrize(
    "slug, data",
    [
        ("cancel", {}),
        ("change-plan", {"plan_id": "business"}),
        ("extend", {"days": " 7 "}),
    ],
)
def test_a_confirmation_sent_after_signing_in_again_says_nothing_was_done(
    plans, admin_client, auth, slug, data
):
    """The admin opens "Cancel now" (or another action), signs in again in another tab, then
    confirms: the CSRF token is of the old session. As on every other form
    (tests/test_forms.py): 422 with "This page had expired ..., so nothing was saved", what
    was typed kept, nothing written. (It answered 200 with the form and no word: the admin
    could believe the subscription canceled.)"""
    sub = subscription()
    old_token = csrf(admin_client)
    auth.logout()
    auth.login()
    response = admin_client.post(
        f"/admin/subscriptions/{sub.id}/{slug}",
        data={"csrf_token": old_token, "version": "1", "confirm": "1", **data},
        headers={"Origin": "http://localhost"},
    )
    html = response.get_data(as_text=True)
    assert stored(sub.id).version == 1 and entries(sub.id) == []
    assert response.status_code == 422
    assert EXPIRED in html


def test_a_conflict_that_ends_the_action_offers_no_review(plans, admin_client):
    """Admin A opens "Pause"; admin B cancels the subscription meanwhile. A's confirmation
    shows the conflict and why pausing no longer applies, with no "Review the change" button
    (which could only be refused again), nothing changed by A."""
    sub = subscription()
    opened = admin_client.get(f"/admin/subscriptions/{sub.id}/pause?version=1")
    token = csrf_token_from(opened.get_data(as_text=True))
    actions.cancel_now(sub.id, expected_version=1, actor=Actor("other@example.com"))
    response = admin_client.post(
        f"/admin/subscriptions/{sub.id}/pause",
        data={"csrf_token": token, "version": "1", "confirm": "1"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed by someone else" in html
    assert "A canceled subscription cannot be paused." in html
    assert 'name="review"' not in html and 'name="confirm"' not in html
    assert [e.action for e in entries(sub.id)] == ["subscription_canceled"]


def test_a_form_sent_while_signed_out_leads_to_a_sign_in_saying_nothing_was_done(plans, client):
    """A POST from a page whose session was signed out elsewhere: nothing done, and the sign-in
    page it is sent to says so (a GET is sent there without the note)."""
    sub = subscription()
    response = client.post(
        f"/admin/subscriptions/{sub.id}/extend", data={"days": "9", "version": "1", "confirm": "1"}
    )
    assert response.status_code == 302
    assert "unsaved=1" in response.headers["Location"]
    login = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "so nothing was saved or done" in login
    assert stored(sub.id).version == 1 and entries(sub.id) == []
    opened = client.get(f"/admin/subscriptions/{sub.id}")
    assert "unsaved" not in opened.headers["Location"]
