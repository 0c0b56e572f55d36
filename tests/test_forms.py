"""Forms never lose what was typed (docs/forms.md): a refused CSRF token brings the same form
back with every value, one-time submission tokens make a second submission lead to the first's
result, text is never cut, and an invalid submit is announced (error summary, title)."""

import re
from html import unescape

import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from billing_admin.extensions import db
from billing_admin.forms import keeps_input  # noqa: F401  (the mark the walk below looks for)
from billing_admin.models import AuditLog, FormSubmission, Plan
from tests.helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AuthActions,
    add_plan,
    csrf_token_from,
    plan_form,
)

RU = {"Accept-Language": "ru", "Origin": "http://localhost"}
# Browsers send Origin with every form POST; the kept-input page is only for our own pages.
SAME_SITE = {"Origin": "http://localhost"}
EXPIRED = (
    "This page had expired (or you signed in again elsewhere), so nothing was saved. What you "
    "typed is still here: check it and submit again."
)


def token_of(html: str) -> str:
    match = re.search(r'name="submission_token" type="hidden" value="([^"]+)"', html) or (
        re.search(r'name="submission_token" value="([^"]+)"', html)
    )
    assert match, "no submission token in the page"
    return match.group(1)


def new_plan_page(client, headers=None) -> str:
    return client.get("/admin/plans/new", headers=headers or {}).get_data(as_text=True)


def plan_ids() -> list[str]:
    db.session.rollback()
    return sorted(db.session.scalars(sa.select(Plan.id)))


def value_of(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]* name="{name}"[^>]* value="([^"]*)"', html)
    return unescape(match.group(1)) if match else ""


def textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]* name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    return unescape(match.group(1)).strip("\r\n") if match else ""


# -- A refused CSRF token ------------------------------------------------------------------------


def sign_in_again(client) -> None:
    """The admin signs in again (another tab of the same browser): a new session, and with it a
    new CSRF secret, so the forms of the first tab hold a token of the old one."""
    token = csrf_token_from(client.get("/admin/plans").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_a_form_sent_after_signing_in_again_comes_back_with_everything_typed(admin_client, auth):
    page = new_plan_page(admin_client)
    typed = plan_form(features="GPT-4o\nClaude", description="Ours")
    data = {**typed, "csrf_token": csrf_token_from(page), "submission_token": token_of(page)}
    sign_in_again(admin_client)
    response = admin_client.post("/admin/plans/new", data=data, headers=SAME_SITE)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert EXPIRED in unescape(html)
    for name in ("id", "name", "name_ru", "price", "tokens_input", "requests", "display_order"):
        assert value_of(html, name) == typed[name], name
    assert textarea(html, "features") == "GPT-4o\nClaude"
    assert textarea(html, "description") == "Ours"
    fresh = csrf_token_from(html)
    assert fresh != data["csrf_token"]
    assert plan_ids() == []  # nothing written
    # Submitting again with the fresh token saves it.
    again = admin_client.post("/admin/plans/new", data={**data, "csrf_token": fresh})
    assert again.status_code == 302
    assert plan_ids() == ["team"]


def test_a_form_whose_token_timed_out_comes_back_with_everything_typed(
    app, admin_client, monkeypatch
):
    app.config["WTF_CSRF_TIME_LIMIT"] = 60
    page = new_plan_page(admin_client)
    data = {**plan_form(), "csrf_token": csrf_token_from(page)}
    now = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now(self) + 120)
    response = admin_client.post("/admin/plans/new", data=data, headers=RU)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "Срок действия страницы истёк" in html
    assert value_of(html, "name_ru") == "Команда"
    assert plan_ids() == []


def test_the_edit_form_keeps_the_edit_too(admin_client, auth):
    add_plan("pro")
    page = admin_client.get("/admin/plans/pro/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    data = {
        **plan_form(name="Pro renamed", price="1,490.00"),
        "version": version,
        "csrf_token": csrf_token_from(page),
    }
    sign_in_again(admin_client)
    html = admin_client.post("/admin/plans/pro/edit", data=data, headers=SAME_SITE)
    html = html.get_data(as_text=True)
    assert EXPIRED in unescape(html)
    assert value_of(html, "name") == "Pro renamed"
    db.session.rollback()
    assert db.session.get(Plan, "pro").name == "Pro"


def test_the_sign_in_form_keeps_the_email_and_asks_for_the_password_again(client, admin):
    page = client.get("/login").get_data(as_text=True)
    with client.session_transaction() as session:
        session.clear()  # the session (and the CSRF secret in it) expired
    response = client.post(
        "/login",
        data={
            "email": ADMIN_EMAIL,
            "password": "whatever it was",
            "csrf_token": csrf_token_from(page),
        },
        headers=SAME_SITE,
    )
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert (
        "This page had expired, so you were not signed in. Enter your password again and "
        "sign in." in html
    )
    assert value_of(html, "email") == ADMIN_EMAIL
    assert value_of(html, "password") == ""  # never shown again
    assert csrf_token_from(html) != csrf_token_from(page)  # a fresh token
    assert client.get("/admin/plans").status_code == 302  # not signed in


def test_a_one_button_action_goes_back_saying_nothing_was_done(admin_client, auth):
    add_plan("pro")
    page = admin_client.get("/admin/plans/pro").get_data(as_text=True)
    stale = csrf_token_from(page)
    sign_in_again(admin_client)
    response = admin_client.post(
        "/admin/plans/pro/deactivate",
        data={"csrf_token": stale},
        headers={"Referer": "http://localhost/admin/plans/pro"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/plans/pro"
    html = admin_client.get("/admin/plans/pro").get_data(as_text=True)
    assert "so nothing was done. Press the button again." in unescape(html)
    db.session.rollback()
    assert db.session.get(Plan, "pro").is_active is True


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/admin/plans/new"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
        {},
    ],
)
def test_a_post_from_another_site_gets_the_plain_refusal(admin_client, headers):
    """Showing a foreign site's values in our form would let it pre-fill a form for the admin."""
    data = {**plan_form(name="Planted"), "csrf_token": "forged"}
    response = admin_client.post("/admin/plans/new", data=data, headers=headers)
    assert response.status_code == 400
    assert "Planted" not in response.get_data(as_text=True)
    assert plan_ids() == []


# Endpoints whose POST is a one-button action (or a hand-written form) rather than a Form: a
# refused token sends them back to their page. Every other POST endpoint must be keeps_input.
ACTIONS = {
    "auth.logout",
    "language.switch",
    "plans.activate",
    "plans.deactivate",
    "plans.duplicate",
    "plans.delete",
    "plans.move_to_current_price",
    "plans.continue_move",
    "account.turn_off_second_factor",
    "account.end_session",
    "account.end_other_sessions",
    "accounts.change_role",
    "accounts.disable",
    "accounts.enable",
    "accounts.sign_out",
    "accounts.reset_second_factor",
    "accounts.password_link",
}


def test_every_post_endpoint_keeps_its_input_or_is_a_one_button_action(app):
    unclassified = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()) or rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        if not getattr(view, "keeps_input", False) and rule.endpoint not in ACTIONS:
            unclassified.append(rule.endpoint)
    assert unclassified == []


# -- One-time submission tokens --------------------------------------------------------------------


def test_new_plan_sent_twice_makes_one_plan_and_leads_to_it(admin_client):
    page = new_plan_page(admin_client)
    data = {
        **plan_form(id="", name="Pro Plus"),
        "csrf_token": csrf_token_from(page),
        "submission_token": token_of(page),
    }
    first = admin_client.post("/admin/plans/new", data=data)
    assert first.status_code == 302
    assert first.headers["Location"] == "/admin/plans/pro_plus"
    second = admin_client.post("/admin/plans/new", data=data)
    assert second.status_code == 303
    assert second.headers["Location"] == "/admin/plans/pro_plus"
    assert plan_ids() == ["pro_plus"]  # not pro_plus and pro_plus_2
    html = admin_client.get("/admin/plans/pro_plus").get_data(as_text=True)
    assert "This form had already been sent: here is its result." in html


def test_duplicate_clicked_twice_makes_one_copy(admin_client):
    add_plan("pro")
    page = admin_client.get("/admin/plans/pro").get_data(as_text=True)
    form = re.search(r'action="/admin/plans/pro/duplicate".*?</form>', page, re.S).group(0)
    data = {"csrf_token": csrf_token_from(form), "submission_token": token_of(form)}
    first = admin_client.post("/admin/plans/pro/duplicate", data=data)
    second = admin_client.post("/admin/plans/pro/duplicate", data=data)
    assert first.headers["Location"] == second.headers["Location"] == "/admin/plans/pro_copy/edit"
    assert plan_ids() == ["pro", "pro_copy"]
    db.session.rollback()
    copies = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action.in_(["plan_duplicated", "plan_created"]))
    ).all()
    assert len(copies) == 1


def test_a_refused_submission_can_be_corrected_and_sent_with_the_same_token(admin_client):
    page = new_plan_page(admin_client)
    data = {
        **plan_form(price="lots"),
        "csrf_token": csrf_token_from(page),
        "submission_token": token_of(page),
    }
    refused = admin_client.post("/admin/plans/new", data=data)
    assert refused.status_code == 422
    assert token_of(refused.get_data(as_text=True)) == data["submission_token"]
    fixed = admin_client.post("/admin/plans/new", data={**data, "price": "990"})
    assert fixed.status_code == 302
    assert plan_ids() == ["team"]


def test_each_rendering_of_a_form_has_its_own_token(admin_client):
    assert token_of(new_plan_page(admin_client)) != token_of(new_plan_page(admin_client))


def test_the_first_result_is_found_by_another_worker(admin_client, app_factory):
    page = new_plan_page(admin_client)
    data = {
        **plan_form(),
        "csrf_token": csrf_token_from(page),
        "submission_token": token_of(page),
    }
    assert admin_client.post("/admin/plans/new", data=data).status_code == 302
    # Another worker: another app over the same database, the same browser cookie.
    other = app_factory().test_client()
    for cookie in admin_client._cookies.values():
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    again = other.post("/admin/plans/new", data=data)
    assert again.status_code == 303
    assert again.headers["Location"] == "/admin/plans/team"
    assert plan_ids() == ["team"]


def test_a_token_means_nothing_for_another_account(admin_client, client, app):
    from tests.helpers import add_user

    page = new_plan_page(admin_client)
    token = token_of(page)
    data = {**plan_form(), "csrf_token": csrf_token_from(page), "submission_token": token}
    assert admin_client.post("/admin/plans/new", data=data).status_code == 302
    db.session.rollback()
    [stored] = db.session.scalars(sa.select(FormSubmission)).all()
    assert token not in stored.key_hash  # only a hash of the user's id and the token
    assert stored.result_url == "/admin/plans/team"

    add_user("second@example.com", "another long passphrase 7", role="admin")
    other = app.test_client()
    AuthActions(other).login("second@example.com", "another long passphrase 7")
    page = new_plan_page(other)
    reused = other.post(
        "/admin/plans/new",
        data={
            **plan_form(id="team_b"),
            "csrf_token": csrf_token_from(page),
            "submission_token": token,
        },
    )
    assert reused.status_code == 302
    assert reused.headers["Location"] == "/admin/plans/team_b"


def test_every_post_form_on_the_pages_carries_a_one_time_token(admin_client):
    add_plan("pro")
    pages = [
        "/admin/plans",
        "/admin/plans/pro",
        "/admin/plans/new",
        "/admin/plans/pro/edit",
        "/admin/plans/pro/delete",
        "/admin/accounts",
        "/account",
    ]
    for path in pages:
        html = admin_client.get(path).get_data(as_text=True)
        forms = re.findall(r'<form method="post"[^>]*>.*?</form>', html, re.S)
        assert forms, path
        for form in forms:
            if 'action="/logout"' in form:
                continue  # signing out twice is signing out
            assert 'name="submission_token"' in form, (path, form[:200])


# -- Text is never cut; an invalid submit is announced ----------------------------------------


def test_limited_fields_count_characters_instead_of_cutting_them(admin_client):
    html = new_plan_page(admin_client)
    for name, limit in (("name", 100), ("description", 1000), ("description_ru", 1000)):
        tag = re.search(rf'<(input|textarea)[^>]* name="{name}"[^>]*>', html).group(0)
        assert "maxlength=" not in tag.replace("data-maxlength", ""), tag
        assert f'data-maxlength="{limit}"' in tag
    assert '<script src="/static/js/forms.js" defer></script>' in html


def test_an_over_long_description_is_refused_by_the_field_not_cut(admin_client):
    page = new_plan_page(admin_client)
    text = "d" * 5000
    response = admin_client.post(
        "/admin/plans/new",
        data={**plan_form(description=text), "csrf_token": csrf_token_from(page)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Must be at most 1,000 characters." in html
    assert textarea(html, "description") == text  # all 5,000 kept for the admin to shorten
    assert plan_ids() == []


def test_an_invalid_submit_shows_a_summary_linking_each_field(admin_client):
    page = new_plan_page(admin_client)
    response = admin_client.post(
        "/admin/plans/new",
        data={**plan_form(price="lots", requests=""), "csrf_token": csrf_token_from(page)},
    )
    html = response.get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert title.startswith("Error: New plan")
    summary = re.search(r'<div class="error-summary"[^>]*>.*?</div>', html, re.S).group(0)
    assert 'role="alert"' in summary and 'tabindex="-1"' in summary
    assert '<a href="#price">Price</a>: Write numbers like 1,490.50.' in unescape(summary)
    assert '<a href="#requests">Requests per period</a>' in summary
    price = re.search(r'<input[^>]* name="price"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in price
    assert 'aria-describedby="price-errors price-hint"' in price
    assert 'id="price-errors"' in html


def test_the_summary_and_title_in_russian(admin_client):
    page = new_plan_page(admin_client, RU)
    response = admin_client.post(
        "/admin/plans/new",
        data={**plan_form(price="много"), "csrf_token": csrf_token_from(page)},
        headers=RU,
    )
    html = response.get_data(as_text=True)
    assert re.search(r"<title>Ошибка: ", html)
    assert "Форма не сохранена" in html


def test_a_valid_page_has_no_summary_and_a_plain_title(admin_client):
    html = new_plan_page(admin_client)
    assert "error-summary" not in html
    assert re.search(r"<title>New plan", html)


def test_a_failed_sign_in_is_summarised_too(client, admin):
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"email": ADMIN_EMAIL, "password": "wrong", "csrf_token": csrf_token_from(page)},
    )
    html = response.get_data(as_text=True)
    assert re.search(r"<title>Error: Sign in", html)
    assert 'class="error-summary"' in html


@pytest.mark.parametrize("path", ["/admin/accounts", "/account"])
def test_other_forms_get_the_summary_from_the_shared_macro(admin_client, path):
    page = admin_client.get(path).get_data(as_text=True)
    if path == "/admin/accounts":
        response = admin_client.post(
            "/admin/accounts",
            data={"email": "not an email", "role": "viewer", "csrf_token": csrf_token_from(page)},
        )
    else:
        response = admin_client.post(
            "/account/password",
            data={
                "current": "x",
                "password": "y",
                "confirm": "z",
                "csrf_token": csrf_token_from(page),
            },
        )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r"<title>Error: ", html)
    assert 'class="error-summary"' in html


def test_two_workers_sent_the_same_form_at_once_make_one_plan(admin_client, app_factory):
    """A double click reaching two workers at the same moment: one claims the token and
    creates the plan; the other waits for that result and is sent to it."""
    import threading

    page = new_plan_page(admin_client)
    data = {
        **plan_form(id="", name="Pro Plus"),
        "csrf_token": csrf_token_from(page),
        "submission_token": token_of(page),
    }
    clients = []
    for _ in range(2):
        client = app_factory().test_client()
        for cookie in admin_client._cookies.values():
            client.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
        clients.append(client)
    start = threading.Barrier(2)
    answers: list = [None, None]

    def send(n: int) -> None:
        start.wait()
        answers[n] = clients[n].post("/admin/plans/new", data=data)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answer.status_code for answer in answers) == [302, 303]
    assert {answer.headers["Location"] for answer in answers} == {"/admin/plans/pro_plus"}
    assert plan_ids() == ["pro_plus"]
