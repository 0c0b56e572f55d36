"""Plan pages and actions: save rules, lost updates, activate, duplicate, delete, audit."""

import re
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan
from tests.helpers import QueryCounter, add_plan, add_subscription, csrf_token_from, plan_form

PRO_FORM = {
    "name": "Pro",
    "name_ru": "",
    "description": "",
    "description_ru": "",
    "price": "1490.00",
    "tokens_input": "5000000",
    "tokens_output": "2000000",
    "requests": "20000",
    "features": "GPT-4o",
    "display_order": "0",
}


def edit_page(client, plan_id="pro"):
    html = client.get(f"/admin/plans/{plan_id}/edit").get_data(as_text=True)
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', html).group(1)
    return csrf_token_from(html), version


def post_edit(client, plan_id="pro", version=None, **overrides):
    token, current = edit_page(client, plan_id)
    data = plan_form(**{**PRO_FORM, **overrides})
    data.update(csrf_token=token, version=version or current)
    data.pop("id")
    return client.post(f"/admin/plans/{plan_id}/edit", data=data)


def post_action(client, url):
    token = csrf_token_from(client.get("/admin/plans").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token})


def fresh(plan_id="pro") -> Plan | None:
    db.session.rollback()
    return db.session.get(Plan, plan_id)


def audit(action=None) -> list[AuditLog]:
    db.session.rollback()
    query = (
        sa.select(AuditLog)
        .where(AuditLog.entity_type == "plan")
        .order_by(AuditLog.created_at, AuditLog.id)
    )
    if action:
        query = query.where(AuditLog.action == action)
    return list(db.session.scalars(query))


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_the_edit_form_shows_the_stored_values(admin_client):
    add_plan("pro", name_ru="Профессиональный", plan_extra_metadata={"promo": True})
    html = text_of(admin_client.get("/admin/plans/pro/edit"))
    assert 'value="Профессиональный"' in html
    assert 'value="1,490.00"' in html  # as the English pages write numbers
    assert 'value="20,000"' in html  # quotas grouped
    assert '"promo": true' in html


def test_an_edit_is_saved_with_its_audit_entry(admin_client):
    add_plan("pro")
    response = post_edit(admin_client, price="1590.00", name="Pro+")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/plans/pro"
    plan = fresh()
    assert (plan.price, plan.name, plan.version) == (Decimal("1590.00"), "Pro+", 2)
    [entry] = audit("plan_updated")
    assert entry.actor == "admin@example.com"
    assert entry.changes == {
        "name": {"old": "Pro", "new": "Pro+"},
        "price": {"old": "1490.00", "new": "1590.00"},
    }


def test_saving_without_changes_writes_nothing(admin_client):
    add_plan("pro")
    response = post_edit(admin_client)
    assert response.status_code == 302
    assert fresh().version == 1
    assert audit() == []


def test_lowering_a_quota_with_active_subscribers_is_refused(admin_client):
    add_plan("pro")
    add_subscription("pro", "active")
    db.session.commit()
    response = post_edit(admin_client, requests="10000")
    assert response.status_code == 422
    assert (
        "Requests per period cannot go down from 20,000 to 10,000 while the plan has active "
        "subscriptions. Create a new plan instead." in text_of(response)
    )
    assert fresh().quotas["requests"] == 20_000
    assert audit() == []


def test_lowering_a_quota_without_active_subscribers_is_allowed(admin_client):
    add_plan("pro")
    add_subscription("pro", "canceled")
    db.session.commit()
    assert post_edit(admin_client, requests="10000").status_code == 302
    assert fresh().quotas["requests"] == 10_000


def test_a_price_change_with_active_subscribers_asks_for_confirmation(admin_client):
    add_plan("pro")
    add_subscription("pro", "active")
    db.session.commit()
    response = post_edit(admin_client, price="1990")
    html = text_of(response)
    assert response.status_code == 200
    # Issue 12: the confirmation says what the subscribers keep and that MRR does not move
    # (1 × 1,490.00), not the old "applies to new subscriptions only" warning.
    assert (
        "1 active subscription keeps RUB\xa01,490.00; new subscriptions pay RUB\xa01,990.00; "
        "MRR unchanged today (RUB\xa01,490.00)." in html
    )
    assert 'value="1990"' in html  # the admin's input is kept
    assert fresh().price == Decimal("1490.00")

    # The confirmation carries the whole new price (amount, currency, period) since issue 12.
    assert 'name="confirm_price_change" value="1990.00 RUB month"' in html
    confirmed = post_edit(admin_client, price="1990", confirm_price_change="1990.00 RUB month")
    assert confirmed.status_code == 302
    assert fresh().price == Decimal("1990.00")


def test_a_confirmation_holds_only_for_the_price_confirmed(admin_client):
    add_plan("pro")
    add_subscription("pro", "active")
    db.session.commit()
    # Warned about 1990, the admin changes the field to 9990 and presses "Save with the new price".
    response = post_edit(admin_client, price="9990", confirm_price_change="1990.00 RUB month")
    assert response.status_code == 200
    assert "new subscriptions pay RUB\xa09,990.00" in text_of(response)
    assert fresh().price == Decimal("1490.00")
    # The same amount in another currency or period is another price: confirmed again.
    response = post_edit(
        admin_client, price="1990", currency="EUR", confirm_price_change="1990.00 RUB month"
    )
    assert response.status_code == 200
    assert 'name="confirm_price_change" value="1990.00 EUR month"' in text_of(response)
    assert (fresh().price, fresh().currency) == (Decimal("1490.00"), "RUB")


def test_a_price_change_without_active_subscribers_needs_no_confirmation(admin_client):
    add_plan("pro")
    assert post_edit(admin_client, price="1990").status_code == 302


def test_a_save_over_a_newer_version_overwrites_nothing(admin_client):
    add_plan("pro")
    token, version = edit_page(admin_client)
    # Someone else saves first.
    plan = fresh()
    plan.name = "Theirs"
    db.session.commit()

    data = {**plan_form(**{**PRO_FORM, "name": "Mine"}), "csrf_token": token, "version": version}
    response = admin_client.post("/admin/plans/pro/edit", data=data)
    html = text_of(response)

    assert response.status_code == 409
    assert "This plan was changed by someone else since you opened it" in html
    assert re.search(r"<th scope=\"row\">Name</th><td>Mine</td><td>Theirs</td>", html)
    assert 'value="Mine"' in html  # the admin's input is kept
    assert fresh().name == "Theirs"

    # Having seen their values, saving again is a deliberate overwrite.
    new_version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', html).group(
        1
    )
    assert new_version == "2"
    data["version"] = new_version
    assert admin_client.post("/admin/plans/pro/edit", data=data).status_code == 302
    assert fresh().name == "Mine"


@pytest.mark.postgresql_only
def test_a_save_that_races_another_between_read_and_write_is_refused(app, admin, monkeypatch):
    """The version check in the UPDATE itself (not only the form's) stops the lost update.

    (On SQLite the race cannot happen: a save holds the write lock from its first read.)
    """
    from billing_admin.audit.service import Actor
    from billing_admin.plans import service

    add_plan("pro")
    spec = service.spec_of(fresh())
    real_counts = service.price_counts
    saved = []

    def someone_saves_meanwhile(plan_ids):
        with db.engine.begin() as other:
            other.execute(sa.update(Plan.__table__).values(name="Theirs", version=2))
        saved.append(1)
        return real_counts(plan_ids)

    # update_plan reads the counts by price after its version check (issue 12: price_counts).
    monkeypatch.setattr(service, "price_counts", someone_saves_meanwhile)
    from dataclasses import replace

    with pytest.raises(service.StaleEdit):
        service.update_plan("pro", replace(spec, name="Mine"), expected_version=1, actor=Actor("t"))
    assert saved == [1]
    assert fresh().name == "Theirs"
    assert audit() == []


def test_activate_and_deactivate_are_audited(admin_client):
    add_plan("pro")
    assert post_action(admin_client, "/admin/plans/pro/deactivate").status_code == 302
    assert fresh().is_active is False
    post_action(admin_client, "/admin/plans/pro/activate")
    assert fresh().is_active is True
    assert [(e.action, e.changes) for e in audit()] == [
        ("plan_deactivated", {"is_active": {"old": True, "new": False}}),
        ("plan_activated", {"is_active": {"old": False, "new": True}}),
    ]


def test_activating_an_active_plan_changes_nothing(admin_client):
    add_plan("pro")
    response = post_action(admin_client, "/admin/plans/pro/activate")
    assert response.status_code == 302
    assert audit() == []


def test_actions_need_post(admin_client):
    add_plan("pro")
    for action in ("activate", "deactivate", "duplicate"):
        assert admin_client.get(f"/admin/plans/pro/{action}").status_code == 405
    assert fresh().is_active is True


def test_duplicate_makes_an_inactive_copy_with_a_unique_id(admin_client):
    add_plan(
        "pro", name_ru="Профессиональный", display_order=2, plan_extra_metadata={"promo": True}
    )
    first = post_action(admin_client, "/admin/plans/pro/duplicate")
    assert first.headers["Location"] == "/admin/plans/pro_copy/edit"
    post_action(admin_client, "/admin/plans/pro/duplicate")
    copy, second = fresh("pro_copy"), fresh("pro_copy_2")
    assert (copy.name, copy.name_ru) == ("Pro (Copy)", "Профессиональный (Копия)")
    assert (copy.is_active, copy.display_order, copy.plan_extra_metadata) == (False, 3, None)
    assert (copy.price, copy.quotas, copy.features) == (
        fresh().price,
        fresh().quotas,
        fresh().features,
    )
    assert second is not None
    entries = audit("plan_duplicated")
    assert [e.entity_id for e in entries] == ["pro_copy", "pro_copy_2"]
    assert entries[0].audit_metadata == {"source_plan_id": "pro"}


def test_delete_is_refused_while_a_subscription_references_the_plan(admin_client):
    add_plan("pro")
    add_subscription("pro", "active")
    add_subscription("pro", "active")
    db.session.commit()
    page = text_of(admin_client.get("/admin/plans/pro/delete"))
    message = "Cannot delete plan with 2 active subscriptions. Deactivate the plan instead."
    assert message in page
    assert "Deactivate Pro" in page  # the way out is offered
    response = post_action(admin_client, "/admin/plans/pro/delete")
    assert response.status_code == 409
    assert message in text_of(response)
    assert fresh() is not None


def test_delete_is_refused_for_canceled_subscribers_too(admin_client):
    add_plan("pro")
    add_subscription("pro", "canceled")
    db.session.commit()
    response = post_action(admin_client, "/admin/plans/pro/delete")
    assert response.status_code == 409
    assert "1 subscriptions (none active) still refer to it" in text_of(response)
    assert fresh() is not None


def test_delete_asks_first_then_deletes_and_audits(admin_client):
    add_plan("pro")
    page = text_of(admin_client.get("/admin/plans/pro/delete"))
    assert "Delete Pro <code>pro</code>?" in page
    assert fresh() is not None  # the confirmation page deletes nothing
    response = post_action(admin_client, "/admin/plans/pro/delete")
    assert response.headers["Location"] == "/admin/plans"
    assert fresh() is None
    [entry] = audit("plan_deleted")
    assert entry.changes["price"] == {"old": "1490.00", "new": None}


@pytest.mark.parametrize(
    "path",
    ["", "/edit", "/delete"],
)
def test_an_unknown_plan_is_a_404_page(admin_client, path):
    response = admin_client.get(f"/admin/plans/nope{path}")
    assert response.status_code == 404
    assert "Plan &#39;nope&#39; not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("action", ["activate", "deactivate", "duplicate", "delete"])
def test_an_action_on_an_unknown_plan_is_a_404(admin_client, action):
    assert post_action(admin_client, f"/admin/plans/nope/{action}").status_code == 404


def test_the_list_shows_price_quotas_status_counts_and_mrr(admin_client):
    add_plan(
        "starter",
        name="Starter",
        name_ru="Старт",
        price=Decimal("490.00"),
        display_order=1,
        quotas={"tokens_input": 1_000_000, "tokens_output": 500_000, "requests": 5_000},
    )
    add_plan(
        "unlimited",
        name="Unlimited",
        price=Decimal("14990.00"),
        quotas=None,
        is_active=False,
        display_order=4,
    )
    add_plan("yearly", name="Yearly", price=Decimal("4704.00"), interval="year", display_order=5)
    for status in ("active", "active", "trialing", "canceled"):
        add_subscription("starter", status)
    add_subscription("yearly", "active")
    db.session.commit()  # fmt: skip

    html = text_of(admin_client.get("/admin/plans"))
    assert "RUB\xa0490.00 / month" in html
    assert "<li>1M in</li><li>500K out</li><li>5,000 requests</li>" in html
    assert "Unlimited" in html
    assert "Старт" in html
    assert "RUB\xa0980.00" in html  # 2 active × 490
    assert "RUB\xa0392.00" in html  # 1 active × 4704 / 12
    assert html.index("Starter") < html.index("Unlimited") < html.index("Yearly")  # display order
    assert 'class="badge badge-inactive">Inactive' in html  # inactive plans are listed too


def test_the_status_filter(admin_client):
    add_plan("on", name="Switched on")
    add_plan("off", name="Switched off", is_active=False)
    active = text_of(admin_client.get("/admin/plans?status=active"))
    inactive = text_of(admin_client.get("/admin/plans?status=inactive"))
    everything = text_of(admin_client.get("/admin/plans?status=nonsense"))
    assert "Switched on" in active and "Switched off" not in active
    assert "Switched off" in inactive and "Switched on" not in inactive
    assert "Switched on" in everything and "Switched off" in everything


def test_the_plan_list_runs_the_same_number_of_queries_for_2_or_30_plans(app, admin_client):
    def queries_for_list() -> int:
        with QueryCounter(db.engine) as counter:
            assert admin_client.get("/admin/plans").status_code == 200
        return counter.count

    for n in range(2):
        add_plan(f"p{n}")
        add_subscription(f"p{n}", "active")
    db.session.commit()
    few = queries_for_list()
    for n in range(2, 30):
        add_plan(f"p{n}")
        add_subscription(f"p{n}", "trialing")
    db.session.commit()
    assert queries_for_list() == few


def test_the_plan_page_shows_everything_and_its_history(admin_client):
    add_plan(
        "pro",
        name_ru="Профессиональный",
        description="Advanced",
        plan_extra_metadata={"promo": True},
    )
    post_edit(
        admin_client,
        price="1590.00",
        name_ru="Профессиональный",
        description="Advanced",
        plan_extra_metadata='{"promo": true}',
    )
    add_subscription("pro", "past_due")
    db.session.commit()  # fmt: skip
    html = text_of(admin_client.get("/admin/plans/pro"))
    for text in ("Профессиональный", "Advanced", "RUB\xa01,590.00 / month", "Requests: 20,000",
                 "GPT-4o", '"promo": true', "past due", "updated</strong> by admin@example.com",
                 "RUB\xa01,490.00", "MRR RUB\xa00.00"):  # fmt: skip
        assert text in html, text


XSS = "<script>alert(1)</script>"


def test_markup_in_plan_fields_is_escaped_on_every_page(admin_client):
    response = admin_client.post(
        "/admin/plans/new",
        data={
            **plan_form(id="xss", name=XSS, name_ru=XSS, description=XSS, features=f"{XSS}\nok",
                        plan_extra_metadata=f'{{"note": "{XSS}"}}'),
            "csrf_token": csrf_token_from(admin_client.get("/admin/plans/new").get_data(as_text=True)),
        },
    )  # fmt: skip
    assert response.status_code == 302
    post_action(admin_client, "/admin/plans/xss/duplicate")
    for path in ("/admin/plans", "/admin/plans/xss", "/admin/plans/xss/edit",
                 "/admin/plans/xss/delete", "/admin/audit", "/admin/plans/xss_copy/edit",
                 "/admin/audit?plan=xss"):  # fmt: skip
        html = admin_client.get(path).get_data(as_text=True)
        assert XSS not in html, path
        assert "alert(1)" in html, path  # the text is there, escaped
        assert "<script>" not in html, path  # (only <script src> of our own forms.js)


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/plans", "/admin/plans?status=inactive", "/admin/plans/new", "/admin/audit"],
)
def test_every_page_renders_for_an_empty_database(admin_client, path):
    # Empty: no plans and no plan entries in the audit log (which could not be deleted: the
    # trail is append-only; the admin's sign-in is in it).
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditLog.id)).where(AuditLog.entity_type == "plan")
        )
        == 0
    )
    assert db.session.scalar(sa.select(sa.func.count(Plan.id))) == 0
    response = admin_client.get(path)
    assert response.status_code == 200
    assert "<h1>" in response.get_data(as_text=True)


def test_saving_quotas_written_with_a_missing_key_unchanged_writes_nothing(admin_client):
    """{"tokens_input": 5} means the other two are unlimited: the form's way of saying the same
    is no change."""
    add_plan("pro", quotas={"tokens_input": 5})
    response = post_edit(admin_client, tokens_input="5", tokens_output="", tokens_output_unlimited="y",
                         requests="", requests_unlimited="y")  # fmt: skip
    assert response.status_code == 302
    assert fresh().version == 1
    assert audit() == []


def test_a_plan_cannot_take_the_id_of_the_create_page(admin_client):
    token = csrf_token_from(admin_client.get("/admin/plans/new").get_data(as_text=True))
    explicit = admin_client.post(
        "/admin/plans/new", data={**plan_form(id="new"), "csrf_token": token}
    )
    assert explicit.status_code == 422
    assert "reserved for a page of its own" in text_of(explicit)
    made = admin_client.post(
        "/admin/plans/new", data={**plan_form(id="", name="New"), "csrf_token": token}
    )
    assert made.headers["Location"] == "/admin/plans/new_2"


def test_duplicating_a_plan_at_the_last_display_order_keeps_it_there(admin_client):
    add_plan("pro", display_order=1_000_000)
    assert post_action(admin_client, "/admin/plans/pro/duplicate").status_code == 302
    assert fresh("pro_copy").display_order == 1_000_000


def test_a_page_past_the_end_says_so(admin_client):
    add_plan("pro")
    post_action(admin_client, "/admin/plans/pro/deactivate")  # one plan change
    html = text_of(admin_client.get("/admin/audit?page=50&kind=plans"))
    assert "Page 50 is past the last page (1) of 1" in html
    assert "Showing" not in html


def test_the_plan_page_disables_delete_with_the_reason_while_it_cannot_be_deleted(admin_client):
    add_plan("pro")
    add_subscription("pro", "active")
    db.session.commit()
    page = unescape(admin_client.get("/admin/plans/pro").get_data(as_text=True))
    assert 'href="/admin/plans/pro/delete"' not in page
    assert 'disabled aria-describedby="deletion-refusal">Delete…</button>' in page
    assert (
        '<small id="deletion-refusal" class="muted deletion-refusal">Cannot delete plan with 1 '
        "active subscriptions. Deactivate the plan instead.</small>"
    ) in page


def test_the_plan_page_links_delete_when_it_can_be_deleted(admin_client):
    add_plan("pro")
    page = admin_client.get("/admin/plans/pro").get_data(as_text=True)
    assert '<a href="/admin/plans/pro/delete" role="button"' in page
    assert "deletion-refusal" not in page
