"""One subscription's page, one user's page, and the action pages (issue 13): what they show,
each action's form → confirmation → done, refusals by their field with the typed value kept, the
stale-version conflict, viewers (pages without controls, 403 on POST), unknown ids (404), the
links from the plan's subscriber table, and the page's statement count."""

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor
from billing_admin.extensions import db
from billing_admin.models import AuditLog, Subscription, User
from billing_admin.subscriptions import actions
from tests.helpers import (
    QueryCounter,
    add_plan,
    add_subscription,
    change_plan,
    csrf_token_from,
    current_price_id,
)

NOW = 1_800_000_000
DAY = 86_400


@pytest.fixture
def data(app, set_clock):
    set_clock(NOW)
    add_plan("pro", name_ru="Профессиональный")
    add_plan("business", price=Decimal("4990.00"))
    add_plan("legacy", price=Decimal("99.00"), is_active=False)
    sub = add_subscription("pro", "trialing", trial_end=NOW + 12 * DAY, cancel_at_period_end=True)
    sub.current_period_start, sub.current_period_end = NOW - 2 * DAY, NOW + 12 * DAY
    db.session.get(User, sub.user_id).name = "Анна Smith"
    db.session.commit()
    db.session.execute(sa.update(Subscription).values(version=1))  # as if made so
    db.session.commit()
    ids = (sub.id, sub.user_id)
    db.session.rollback()
    return ids


def stored(subscription_id: str) -> Subscription:
    db.session.rollback()
    return db.session.get(Subscription, subscription_id)


def token(client, url: str) -> str:
    return csrf_token_from(client.get(url).get_data(as_text=True))


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": token(client, "/admin/plans"), **data})


def test_the_subscription_page_shows_the_subscriber_and_the_subscription(data, admin_client):
    sid, uid = data
    html = admin_client.get(f"/admin/subscriptions/{sid}").get_data(as_text=True)
    email = db.session.get(User, uid).email
    assert email in html and "Анна Smith" in html
    assert f'href="/admin/users/{uid}"' in html
    assert 'href="/admin/plans/pro"' in html
    assert "RUB\u00a01,490.00 / month" in html  # the price it pays
    assert "badge-trialing" in html and ">trialing<" in html
    assert "ends in 12 days" in html
    assert html.count('datetime="2027-01-27"') == 2  # period end and trial end
    assert "Cancels at period end</th><td>Yes" in html
    assert "(version 1)" in html
    assert "No admin has acted on this subscription yet." in html


def test_an_older_price_is_shown_as_such(data, admin_client):
    sid, _ = data
    change_plan("pro", price=Decimal("1990.00"))
    html = admin_client.get(f"/admin/subscriptions/{sid}").get_data(as_text=True)
    assert "RUB\u00a01,490.00 / month" in html
    assert "An older price of the plan; new subscriptions pay RUB\u00a01,990.00 / month." in html


def test_the_page_in_russian(data, admin_client):
    sid, uid = data
    post(admin_client, "/account/language", locale="ru", next="/admin/")
    html = admin_client.get(f"/admin/subscriptions/{sid}").get_data(as_text=True)
    assert '<html lang="ru">' in html
    assert "Профессиональный" in html and "через 12 дней" in html
    assert "Пробный период до" in html and "Сменить тариф…" in html
    user = admin_client.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert "Подписки" in user and "Открыть" in user


def test_the_history_lists_the_subscriptions_audit_entries(data, admin_client):
    sid, _ = data
    actions.change_plan(sid, "business", expected_version=1, actor=Actor("someone@example.com"))
    actions.extend_period(sid, 5, expected_version=2, actor=Actor("other@example.com"))
    html = admin_client.get(f"/admin/subscriptions/{sid}").get_data(as_text=True)
    history = html[html.index("history-heading") :]
    assert history.index("period extended") < history.index("plan changed")  # newest first
    assert "<strong>plan changed</strong> by someone@example.com" in history
    assert "<del>pro</del> → <ins>business</ins>" in history
    assert "<del>RUB\u00a01,490.00 / month</del> → <ins>RUB\u00a04,990.00 / month</ins>" in history
    assert "Current period ends" in history and "Trial ends" in history


def test_the_users_page_lists_their_subscriptions_with_links(data, admin_client):
    sid, uid = data
    db.session.rollback()
    other = add_subscription("business", "canceled")
    other.user_id = uid
    db.session.commit()
    other_id = other.id
    html = admin_client.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert f'href="/admin/subscriptions/{sid}"' in html
    assert f'href="/admin/subscriptions/{other_id}"' in html
    assert "badge-canceled" in html and "RUB\u00a04,990.00 / month" in html


@pytest.mark.parametrize(
    "url", ["/admin/subscriptions/nope", "/admin/users/nope", "/admin/subscriptions/nope/pause"]
)
def test_unknown_ids_are_404_pages(data, admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 404
    assert "not found" in response.get_data(as_text=True)


def test_the_plans_subscriber_table_links_to_the_subscription_page(data, admin_client):
    sid, _ = data
    html = admin_client.get("/admin/plans/pro/subscribers").get_data(as_text=True)
    assert html.count(f'href="/admin/subscriptions/{sid}"') == 2  # name and email


def test_only_the_actions_that_apply_are_offered(data, admin_client):
    sid, _ = data
    html = admin_client.get(f"/admin/subscriptions/{sid}").get_data(as_text=True)
    base = f"/admin/subscriptions/{sid}"
    # A trial set to cancel at period end: no pause, no resume, no second scheduling.
    for slug in ("change-plan", "extend", "resume-renewal", "cancel"):
        assert f'href="{base}/{slug}?version=1"' in html, slug
    for slug in ("pause", "resume", "cancel-at-period-end"):
        assert f'href="{base}/{slug}?' not in html, slug


# --- An action from form to done --------------------------------------------------------------


def test_pause_shows_what_changes_then_pauses_on_confirmation(admin_client, app):
    add_plan("pro")
    sid = add_subscription("pro", "active").id
    db.session.commit()
    page = admin_client.get(f"/admin/subscriptions/{sid}/pause?version=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "What will change" in html
    assert '<th scope="row">Status</th><td><del>active</del></td><td><ins>paused</ins></td>' in html
    assert 'name="version" type="hidden" value="1"' in html
    assert stored(sid).status == "active"  # nothing yet
    response = admin_client.post(
        f"/admin/subscriptions/{sid}/pause",
        data={"csrf_token": csrf_token_from(html), "version": "1", "confirm": "1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/subscriptions/{sid}"
    row = stored(sid)
    assert (row.status, row.version) == ("paused", 2)
    done = admin_client.get(f"/admin/subscriptions/{sid}").get_data(as_text=True)
    assert "Subscription paused." in done
    assert "<strong>paused</strong> by admin@example.com" in done
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.entity_id == sid))
    assert entry.actor == "admin@example.com" and entry.user_id is not None


def test_change_plan_form_review_and_confirm(data, admin_client):
    sid, _ = data
    form = admin_client.get(f"/admin/subscriptions/{sid}/change-plan?version=1")
    html = form.get_data(as_text=True)
    assert '<option value="business">Business</option>' in html
    assert '<option value="legacy">Legacy (inactive)</option>' in html
    assert '<option value="pro"' not in html  # not to the plan it is on
    review = post(
        admin_client, f"/admin/subscriptions/{sid}/change-plan", plan_id="business", version="1"
    )
    html = review.get_data(as_text=True)
    assert review.status_code == 200
    assert "<td><del>pro</del></td><td><ins>business</ins></td>" in html
    assert (
        "<td><del>RUB\u00a01,490.00 / month</del></td><td><ins>RUB\u00a04,990.00 / month</ins></td>"
        in html
    )
    assert '<input type="hidden" name="plan_id" value="business">' in html
    reviewed = current_price_id("business")  # the confirmation names the price reviewed
    assert f'<input type="hidden" name="reviewed_price_id" value="{reviewed}">' in html
    assert stored(sid).plan_id == "pro"
    done = post(
        admin_client,
        f"/admin/subscriptions/{sid}/change-plan",
        plan_id="business",
        reviewed_price_id=str(reviewed),
        version="1",
        confirm="1",
    )
    assert done.status_code == 302
    assert stored(sid).plan_id == "business"


def test_an_inactive_plan_is_refused_by_the_field_with_the_choice_kept(data, admin_client):
    sid, _ = data
    response = post(
        admin_client, f"/admin/subscriptions/{sid}/change-plan", plan_id="legacy", version="1"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="plan_id-errors"' in html and "is inactive" in html
    assert '<option selected value="legacy">' in html
    assert "What will change" not in html
    # Ticking "allow inactive plan" lets it through, the tick carried to the confirmation.
    review = post(
        admin_client,
        f"/admin/subscriptions/{sid}/change-plan",
        plan_id="legacy",
        allow_inactive="y",
        version="1",
    )
    html = review.get_data(as_text=True)
    assert review.status_code == 200
    assert '<input type="hidden" name="allow_inactive" value="y">' in html
    done = post(
        admin_client,
        f"/admin/subscriptions/{sid}/change-plan",
        plan_id="legacy",
        allow_inactive="y",
        reviewed_price_id=str(current_price_id("legacy")),
        version="1",
        confirm="1",
    )
    assert done.status_code == 302 and stored(sid).plan_id == "legacy"


@pytest.mark.parametrize("typed", ["abc", "0", "367", "1.5", "-3", ""])
def test_extend_refuses_bad_days_by_the_field_keeping_what_was_typed(data, admin_client, typed):
    sid, _ = data
    response = post(admin_client, f"/admin/subscriptions/{sid}/extend", days=typed, version="1")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="days-errors"' in html
    assert "Enter a whole number of days from 1 to 366." in html
    assert f'name="days" type="text" value="{typed}"' in html
    assert stored(sid).version == 1


def test_extend_review_then_confirm(data, admin_client):
    sid, _ = data
    review = post(admin_client, f"/admin/subscriptions/{sid}/extend", days="30", version="1")
    assert review.status_code == 200
    assert "Current period ends" in review.get_data(as_text=True)
    post(admin_client, f"/admin/subscriptions/{sid}/extend", days="30", version="1", confirm="1")
    row = stored(sid)
    assert row.current_period_end == NOW + 42 * DAY and row.trial_end == NOW + 42 * DAY


def test_an_action_that_does_not_apply_is_refused_above_the_form(data, admin_client):
    sid, _ = data
    response = admin_client.get(f"/admin/subscriptions/{sid}/pause")  # a trial
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'role="alert">A trial cannot be paused: extend it, or cancel it.<' in html
    assert 'name="confirm"' not in html
    refused = post(admin_client, f"/admin/subscriptions/{sid}/pause", version="1", confirm="1")
    assert refused.status_code == 409 and stored(sid).status == "trialing"


def test_a_stale_version_shows_the_conflict_with_the_current_state(data, admin_client):
    sid, _ = data
    opened = admin_client.get(f"/admin/subscriptions/{sid}/cancel?version=1")
    csrf = csrf_token_from(opened.get_data(as_text=True))
    # Meanwhile another admin extends it (version 2).
    actions.extend_period(sid, 10, expected_version=1, actor=Actor("other@example.com"))
    response = admin_client.post(
        f"/admin/subscriptions/{sid}/cancel",
        data={"csrf_token": csrf, "version": "1", "confirm": "1"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "This subscription was changed by someone else since you opened it" in html
    assert "(version 1, now 2)" in html
    assert "(version 2)" in html  # the state now
    assert 'datetime="2027-02-06"' in html  # its new period end (12 + 10 days)
    assert 'name="version" type="hidden" value="2"' in html  # to act on what is stored now
    assert 'name="confirm"' not in html  # review it again first
    assert stored(sid).status == "trialing"
    # Reviewing again, then confirming, acts on version 2.
    review = admin_client.post(
        f"/admin/subscriptions/{sid}/cancel", data={"csrf_token": csrf, "version": "2"}
    )
    assert review.status_code == 200 and "What will change" in review.get_data(as_text=True)
    admin_client.post(
        f"/admin/subscriptions/{sid}/cancel",
        data={"csrf_token": csrf, "version": "2", "confirm": "1"},
    )
    assert stored(sid).status == "canceled"


def test_a_missing_version_is_refused_not_a_500(data, admin_client):
    sid, _ = data
    response = post(admin_client, f"/admin/subscriptions/{sid}/cancel", version="x", confirm="1")
    assert response.status_code == 409
    assert "version is missing" in response.get_data(as_text=True)


# --- Viewers -----------------------------------------------------------------------------------


def test_a_viewer_sees_the_pages_without_controls_and_cannot_act(data, viewer_client):
    sid, uid = data
    html = viewer_client.get(f"/admin/subscriptions/{sid}").get_data(as_text=True)
    assert "Change plan" not in html and f"{sid}/cancel" not in html
    assert viewer_client.get(f"/admin/users/{uid}").status_code == 200
    preview = viewer_client.get(f"/admin/subscriptions/{sid}/cancel")
    assert preview.status_code == 200 and 'name="confirm"' not in preview.get_data(as_text=True)
    csrf = csrf_token_from(viewer_client.get("/account").get_data(as_text=True))
    for slug in ("cancel", "extend", "change-plan", "resume-renewal"):
        response = viewer_client.post(
            f"/admin/subscriptions/{sid}/{slug}",
            data={"csrf_token": csrf, "version": "1", "confirm": "1", "days": "3"},
        )
        assert response.status_code == 403, slug
    row = stored(sid)
    assert (row.status, row.version) == ("trialing", 1)


# --- Cost --------------------------------------------------------------------------------------


def test_the_subscription_page_runs_the_same_statements_however_long_its_history(
    data, admin_client
):
    sid, _ = data
    admin_client.get(f"/admin/subscriptions/{sid}")  # warm: the signed-in user's caches
    with QueryCounter(db.engine) as before:
        assert admin_client.get(f"/admin/subscriptions/{sid}").status_code == 200
    version = 1
    for _ in range(6):
        version = actions.extend_period(
            sid, 1, expected_version=version, actor=Actor("a@example.com")
        ).subscription.version
    for _ in range(30):
        add_subscription("pro", "active")
    db.session.commit()
    with QueryCounter(db.engine) as after:
        assert admin_client.get(f"/admin/subscriptions/{sid}").status_code == 200
    assert after.count == before.count == PAGE_STATEMENTS[db.engine.dialect.name]


# The signed-in admin and their session (the guard), then the page's own two: the subscription
# with its user, plan and price in one query, and its history in another. SQLite's BEGIN is a
# statement of its own (sqlite.py begins transactions explicitly).
PAGE_STATEMENTS = {"sqlite": 5, "postgresql": 4}


def test_the_audit_log_links_subscription_entries(data, admin_client):
    sid, _ = data
    actions.resume_renewal(sid, expected_version=1, actor=Actor("a@example.com"))
    html = admin_client.get("/admin/audit?kind=subscriptions").get_data(as_text=True)
    assert f'href="/admin/subscriptions/{sid}"' in html
    assert "renewal resumed" in html
    assert re.search(r"<del>yes</del> → <ins>no</ins>", html)


def test_an_action_that_cannot_apply_says_so_before_anything_is_typed(data, admin_client):
    sid, _ = data
    actions.cancel_now(sid, expected_version=1, actor=Actor("a@example.com"))
    for slug, message in (
        ("change-plan", "A canceled subscription cannot change plan: it has ended."),
        ("extend", "A canceled subscription cannot be extended: it has ended."),
    ):
        response = admin_client.get(f"/admin/subscriptions/{sid}/{slug}")
        html = response.get_data(as_text=True)
        assert response.status_code == 409, slug
        assert message in html
        assert "Review the change" not in html and 'name="confirm"' not in html
    html = admin_client.get(f"/admin/subscriptions/{sid}").get_data(as_text=True)
    assert "Actions</h2>" not in html  # a canceled subscription: nothing to offer
