"""Every page in Russian and in English, with no interface string left in the other language.

The pages are found by walking the URL map, so a page added later is checked too; the states a
plain GET does not reach (form errors, refusals, empty and past-the-end lists, filters, flash
messages, error pages, the sign-in page) are listed by hand. A page's visible text (text nodes
outside <script> and <style>; the title, aria-label, aria-description, placeholder, alt and
data-tooltip attributes; the label of an <input type="submit|button|reset">) must hold:

- in Russian, no English word (two or more Latin letters in a row), except the data's own
  strings (emails, plan ids, names of people, features, ...; built from the data this module
  creates) and a short list of allowed tokens (ALLOWED_IN_RUSSIAN);
- in English, no Cyrillic, except the switcher's "Русский" and Russian data (the plans' Russian
  names and descriptions, features written in Russian).

Then the language switcher end to end, the fallbacks (the admin's saved choice, else the
browser's Accept-Language, else English), and the JSON API, which stays English.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from werkzeug.exceptions import NotFound, default_exceptions

from billing_admin.errors.handlers import (
    DEFAULT_DESCRIPTIONS,
    ERROR_TITLES,
    error_description,
    error_title,
)
from billing_admin.extensions import db
from billing_admin.models import (
    SUBSCRIPTION_STATUSES,
    AuditLog,
    Plan,
    PriceMove,
    Subscription,
    User,
)
from billing_admin.plans.seeding import seed_plans
from billing_admin.plans.spec import CURRENCIES, INTERVALS, QUOTA_KEYS
from tests.helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AuthActions,
    add_user,
    csrf_token_from,
    current_price_id,
)
from tests.subscriber_data import add_subscriber, bulk_subscribers

NOW = 1_800_000_000  # 2027-01-15 08:00 UTC
DAY = 86_400
LANGUAGES = ("ru", "en")
CYRILLIC = re.compile(r"[А-Яа-яЁё]+")
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")

# What a Russian page may show in Latin letters besides the data: the brand, the switcher's own
# label of English, and abbreviations that Russian admins use as they are. Commands are typed as
# they are, in any language.
ALLOWED_IN_RUSSIAN = (
    "Billing Admin",
    "English",
    "MRR",
    "CSV",
    "XLSX",
    "ID",
    "JSON",
    "UTC",
    "API",
    "URL",
    "QR",
    "flask audit verify",
)
# Time zone names (the tz database's identifiers, the same in every language): the account
# page's examples, and the footer of a page whose admin chose one.
ALLOWED_IN_RUSSIAN += ("Europe/Moscow", "America/New_York")
# Names of authenticator apps, as their makers write them in every language.
ALLOWED_IN_RUSSIAN += ("Google Authenticator", "Microsoft Authenticator", "1Password", "FreeOTP")
# A second-factor key or recovery codes (base32 groups) are data, whatever the language.
SECRET_LIKE = re.compile(r"[A-Z2-7]{4}(?:[ -][A-Z2-7]{4})+")
# What an English page may show in Cyrillic besides the data: the switcher's label of Russian.
ALLOWED_IN_ENGLISH = ("Русский",)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Endpoints the walk leaves out: files, and the health check (a load balancer's, not a page).
NOT_WALKED = {"static", "health.healthz", "accounts.set_password"}  # the last: see the states
# Endpoints the walk reaches that answer with something other than a page.
NOT_HTML = {
    "subscribers.export_csv": "text/csv",
    "subscribers.export_xlsx": XLSX,
    "all_subscribers.everyone_csv": "text/csv",
    "all_subscribers.everyone_xlsx": XLSX,
    "audit.export_csv": "text/csv",
    "audit.export_xlsx": XLSX,
    "metrics.scrape": "text/plain",
}
# A request's id (error pages show it to quote): hex digits, not words.
REQUEST_ID = re.compile(r"(?<!\w)[0-9a-f]{32}(?!\w)")

# The plan made without a Russian name or description: its English ones are its only ones.
LEGACY = "legacy_basic"
LEGACY_NAME = "Legacy Basic"
LEGACY_DESCRIPTION = "Kept for customers of the old price list"
LEGACY_FEATURE = "Email support"
PEOPLE = "Smith"  # subscribers are "Smith 0", "Smith 1", ...
FORMER_ADMIN = "former-admin@example.com"
LOCKED_OUT = "locked-out@example.com"
# Values of a fixed vocabulary: shown by a translated label, never as they are.
VOCABULARY = {*INTERVALS, *SUBSCRIPTION_STATUSES, "true", "false"}


# --- Reading a page ---------------------------------------------------------------------------


class VisibleText(HTMLParser):
    """The text a person sees or hears on a page, one string per text node or attribute. What
    is typed into a form (an input's value, a textarea's text) is data, not the interface."""

    ATTRIBUTES = ("title", "aria-label", "aria-description", "placeholder", "alt", "data-tooltip")
    LABELLED_INPUTS = ("submit", "button", "reset")  # their value is their label
    HIDDEN = ("script", "style", "textarea")

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden = 0
        self.feed(html)
        self.close()

    def _add(self, text: str | None) -> None:
        text = " ".join((text or "").split())
        if text:
            self.texts.append(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in self.ATTRIBUTES:
            self._add(attributes.get(name))
        if tag == "input" and (attributes.get("type") or "").lower() in self.LABELLED_INPUTS:
            self._add(attributes.get("value"))
        if tag in self.HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self._add(data)


def page_language(html: str) -> str | None:
    match = re.search(r'<html lang="([^"]*)"', html)
    return match and match.group(1)


def any_of(strings: Iterable[str]) -> re.Pattern:
    """Any of ``strings`` as a whole (not inside a longer word), the longest first."""
    alternatives = sorted({s for s in strings if s}, key=len, reverse=True)
    if not alternatives:
        return re.compile(r"(?!)")
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, alternatives)) + r")(?!\w)")


def as_ids(ids: set[str]) -> re.Pattern:
    """Any of ``ids`` shown as an id: the whole text, or in quotes («pro», 'pro')."""
    alternatives = "|".join(map(re.escape, sorted(ids, key=len, reverse=True))) or "(?!)"
    return re.compile(rf"^(?:{alternatives})$|(?<=[«'])(?:{alternatives})(?=[»'])")


def foreign_words(text: str, language: str, allowed: re.Pattern, ids: re.Pattern) -> list[str]:
    """The words of ``text`` in the other language, once the allowed strings are taken out."""
    rest = REQUEST_ID.sub(" ", allowed.sub(" ", ids.sub(" ", text)))
    return ENGLISH_WORD.findall(rest) if language == "ru" else CYRILLIC.findall(rest)


# --- The data ---------------------------------------------------------------------------------


@dataclass
class Data:
    """Strings of the data that pages show as they are, whatever the language."""

    everywhere: set[str] = field(default_factory=set)  # emails, names, features, ...
    # Plan ids are words too ("unlimited", "free"): allowed only where a page shows one as an
    # id (a whole text such as a <code>, or quoted «pro» / 'pro'), not anywhere in a sentence.
    plan_ids: set[str] = field(default_factory=set)
    audit_values: set[str] = field(default_factory=set)  # values recorded in the audit log
    # A plan's English name and description where it has Russian ones: shown in Russian only
    # where the page shows the plan's data as recorded (its details, the audit log).
    plan_english: dict[str, set[str]] = field(default_factory=dict)


def strings_in(value: Any) -> set[str]:
    """A recorded value's strings as a page may show them: each string, each list item, and a
    dict as JSON and by its keys."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, bool) or value is None:
        return {json.dumps(value)}
    if isinstance(value, list):
        return set().union(*(strings_in(item) for item in value)) if value else set()
    if isinstance(value, dict):
        found = {json.dumps(value, ensure_ascii=False), *value}
        return found.union(*(strings_in(item) for item in value.values()))
    return set()


def collect_data() -> Data:
    """What the database holds now: emails and names of people, plan ids, currency codes,
    features, metadata, the plans' Russian names and descriptions (English ones only of a plan
    without Russian ones), the audit log's actors and values."""
    from importlib.metadata import version

    # The test client's User-Agent, shown on the account page's list of sessions.
    data = Data(everywhere={*CURRENCIES, f"Werkzeug/{version('werkzeug')}"})
    db.session.rollback()
    subscribers = db.session.scalars(
        sa.select(User).where(User.id.in_(sa.select(Subscription.user_id)))
    )
    for user in subscribers:
        data.everywhere |= {user.email, user.name}
    data.everywhere |= set(db.session.scalars(sa.select(User.email)))
    # Subscription and user ids (issue 13's pages show them), as data.
    data.everywhere |= set(db.session.scalars(sa.select(Subscription.id)))
    data.everywhere |= set(db.session.scalars(sa.select(User.id)))
    for plan in db.session.scalars(sa.select(Plan)):
        data.plan_ids.add(plan.id)
        data.everywhere |= {*(plan.features or ()), *strings_in(plan.plan_extra_metadata)}
        data.everywhere |= {plan.name_ru, plan.description_ru} - {None}
        english = {plan.name, plan.description} - {None}
        if plan.name_ru is None and plan.description_ru is None:
            data.everywhere |= english
        else:
            data.plan_english[plan.id] = english
    for entry in db.session.scalars(sa.select(AuditLog)):
        data.everywhere.add(entry.actor)
        data.plan_ids.add(entry.entity_id)
        # A security event's recorded values (an address, a path, a token's name) are data.
        for key, value in (entry.audit_metadata or {}).items():
            if key not in ("reason", "role"):
                data.audit_values |= strings_in(value)
        for change in (entry.changes or {}).values():
            for value in (change.get("old"), change.get("new")):
                data.audit_values |= strings_in(value) if value is not None else set()
    # A fixed vocabulary is shown by its translated label, even as a recorded value.
    data.audit_values -= VOCABULARY
    db.session.rollback()
    return data


@dataclass
class Site:
    """The app with its data, and an admin's browser signed in."""

    app: Flask
    client: Any
    auth: AuthActions
    set_clock: Any

    def token(self) -> str:
        return csrf_token_from(self.client.get("/admin/plans/new").get_data(as_text=True))

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token()}, **kwargs)

    def use_language(self, language: str) -> None:
        response = self.post("/account/language", {"locale": language, "next": "/admin/"})
        assert response.status_code == 303, response.get_data(as_text=True)


def plan_form_of(plan_id: str, **overrides) -> dict[str, str]:
    """The edit form of a stored plan as the browser would post it back; overrides change it."""
    db.session.rollback()
    plan = db.session.get(Plan, plan_id)
    data = {
        "name": plan.name,
        "name_ru": plan.name_ru or "",
        "description": plan.description or "",
        "description_ru": plan.description_ru or "",
        "price": f"{plan.price:.2f}",
        "currency": plan.currency,
        "interval": plan.interval,
        "features": "\n".join(plan.features or ()),
        "display_order": str(plan.display_order),
        "plan_extra_metadata": (
            "" if plan.plan_extra_metadata is None else json.dumps(plan.plan_extra_metadata)
        ),
        "version": str(plan.version),
    }
    if plan.is_active:
        data["is_active"] = "y"
    if plan.quotas is None:
        data["unlimited_plan"] = "y"
    else:
        for key in QUOTA_KEYS:
            value = plan.quotas.get(key)
            if value is None:
                data[f"{key}_unlimited"] = "y"
            else:
                data[key] = str(value)
    db.session.rollback()
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def site(app, admin, client, auth, set_clock) -> Site:
    """The standard plans (monthly, annual, promo; with Russian names) seeded a day ago, a plan
    without a Russian name, subscribers in every status on three pages, an empty plan, and an
    audit entry of every action, made through the pages by the admin."""
    # Many failed sign-ins come from one address here: the per-client limit is shown once, below.
    app.config["SIGN_IN_CLIENT_LIMIT"] = "100000 per minute"
    set_clock(NOW - DAY)
    seed_plans(include_annual=True, include_promo=True)
    set_clock(NOW)
    assert auth.login().status_code == 302
    site = Site(app, client, auth, set_clock)

    def posted(path: str, data: dict | None = None) -> None:
        response = site.post(path, data)
        assert response.status_code in (302, 303), response.get_data(as_text=True)

    legacy = {
        "id": LEGACY,
        "name": LEGACY_NAME,
        "description": LEGACY_DESCRIPTION,
        "price": "20.00",
        "currency": "USD",
        "interval": "month",
        "tokens_input": "1000000",
        "tokens_output_unlimited": "y",  # "unlimited" in the plan's quotas: a word to translate
        "requests": "5000",
        "features": LEGACY_FEATURE,
        "display_order": "20",
        "is_active": "y",
    }
    posted("/admin/plans/new", legacy)  # created
    posted(
        "/admin/plans/pro/edit",  # updated: description, features, quotas, metadata
        plan_form_of(
            "pro",
            description="Advanced features, higher quotas",
            features="GPT-4o\nClaude 4.5 Sonnet\nПриоритетная обработка",
            tokens_input="6000000",
            plan_extra_metadata='{"badge": "popular", "highlight": true}',
        ),
    )
    posted("/admin/plans/business/deactivate")  # deactivated
    posted("/admin/plans/unlimited/activate")  # activated
    posted("/admin/plans/free/duplicate")  # duplicated
    posted("/admin/plans/free_copy/delete")  # deleted

    created = [NOW - k * 5 * DAY for k in range(12)]  # over the trend's weeks
    bulk_subscribers("pro", 45, created_at=created, statuses=SUBSCRIPTION_STATUSES, name=PEOPLE)
    for number, status in enumerate(SUBSCRIPTION_STATUSES, start=2333):
        add_subscriber(LEGACY, name=f"{PEOPLE} {number}", status=status, created_at=NOW - DAY)
    # An inactive plan with a subscriber: its delete page refuses and says it is inactive.
    add_subscriber("newyear_2025", name=f"{PEOPLE} 2400", created_at=NOW - 2 * DAY)
    # Issue 12: a confirmed price change, so Pro has an older price that subscriptions pay
    # (its Prices section, the move preview the walk reaches, the price states below).
    posted(
        "/admin/plans/pro/edit",
        plan_form_of("pro", price="1590.00", confirm_price_change="1590.00 RUB month"),
    )
    bulk_subscribers("pro", 3, created_at=NOW - DAY, statuses=("active", "trialing"), name=PEOPLE)
    return site


# --- Rendering every page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shows:
    """Recorded data a page shows as it was recorded, whatever the language: the audit log's
    values, plans' English names and descriptions (a plan's details show both languages), and
    any other literal strings (what the admin typed)."""

    audit: bool = False
    plans: tuple[str, ...] = ()
    literal: tuple[str, ...] = ()

    def strings(self, data: Data) -> set[str]:
        found = set(self.literal) | (data.audit_values if self.audit else set())
        return found.union(*(data.plan_english.get(plan_id, set()) for plan_id in self.plans))


NOTHING_RECORDED = Shows()


@dataclass
class Rendered:
    label: str
    html: str
    shows: Shows


@dataclass
class Pages:
    """Collects rendered pages, then says what is wrong with them (against the data as it is at
    the end, when every plan the states made exists or is in the audit log)."""

    language: str
    pages: list[Rendered] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, label, response, status=200, shows=NOTHING_RECORDED, mimetype="text/html"):
        binary = not response.mimetype.startswith("text/")  # a workbook (.xlsx)
        html = "" if binary else response.get_data(as_text=True)
        if response.status_code != status or response.mimetype != mimetype:
            self.errors.append(
                f"{label}: {response.status_code} {response.mimetype}, not {status} {mimetype}"
            )
        elif mimetype == "text/html":
            self.pages.append(Rendered(label, html, shows))

    def problems(self, data: Data) -> list[str]:
        found = list(self.errors)
        allowed_tokens = ALLOWED_IN_RUSSIAN if self.language == "ru" else ALLOWED_IN_ENGLISH
        everywhere = set(allowed_tokens) | data.everywhere
        ids = as_ids(data.plan_ids)
        for page in self.pages:
            if page_language(page.html) != self.language:
                found.append(f"{page.label}: <html lang={page_language(page.html)!r}>")
            allowed = any_of(everywhere | page.shows.strings(data))
            for text in VisibleText(page.html).texts:
                if SECRET_LIKE.fullmatch(text):
                    continue
                words = foreign_words(text, self.language, allowed, ids)
                if words:
                    found.append(f"{page.label}: {text!r} → {' '.join(words)}")
        return found


def walked_urls(app: Flask, plan_ids: list[str]) -> list[tuple[str, str, str | None]]:
    """(endpoint, URL, plan id) of every page in the URL map that a browser GETs; a URL
    argument other than plan_id must be taught here before the test can pass."""
    found = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.rule.startswith("/api/") or rule.endpoint in NOT_WALKED:
                continue
            if "GET" not in rule.methods:
                continue  # POST-only: reached through the states below
            assert rule.arguments <= {"plan_id", "subscription_id", "user_id"}, (
                f"fill the arguments of {rule.rule}"
            )
            if rule.arguments & {"subscription_id", "user_id"}:
                # Issue 13: a subscription each action applies to, and its user.
                subscription_id, user_id = subscription_for(rule.endpoint)
                arguments = {"subscription_id": subscription_id, "user_id": user_id}
                arguments = {k: v for k, v in arguments.items() if k in rule.arguments}
                found.append((rule.endpoint, url_for(rule.endpoint, **arguments), None))
                continue
            for plan_id in plan_ids if "plan_id" in rule.arguments else [None]:
                arguments = {"plan_id": plan_id} if plan_id else {}
                found.append((rule.endpoint, url_for(rule.endpoint, **arguments), plan_id))
    return found


# The subscription an action's page is walked with: one the action applies to.
WALKED_STATUS = {"subscriptions.unpause": "paused"}


def subscription_for(endpoint: str) -> tuple[str, str]:
    """(subscription id, user id); the test's session is left outside any transaction."""
    query = sa.select(Subscription.id, Subscription.user_id).where(
        Subscription.plan_id == "pro",
        Subscription.status == WALKED_STATUS.get(endpoint, "active"),
        Subscription.cancel_at_period_end.is_(endpoint == "subscriptions.resume_renewal"),
    )
    found = tuple(db.session.execute(query.order_by(Subscription.id).limit(1)).one())
    db.session.rollback()
    return found


def recorded_data_on(endpoint: str, plan_id: str | None) -> Shows:
    """The audit log where entries are listed (the log, a plan's history); a plan's English name
    and description on its details."""
    if endpoint == "audit.index":
        return Shows(audit=True)
    if endpoint == "plans.detail":
        return Shows(audit=True, plans=(plan_id,))
    if endpoint == "subscriptions.detail":
        return Shows(audit=True)
    return NOTHING_RECORDED


def render_walked_pages(site: Site, pages: Pages) -> None:
    db.session.rollback()
    plan_ids = sorted(db.session.scalars(sa.select(Plan.id)))
    db.session.rollback()
    walked = walked_urls(site.app, plan_ids)
    assert {endpoint for endpoint, _, _ in walked} >= {
        "dashboard.home",
        "plans.index",
        "plans.detail",
        "plans.edit",
        "plans.delete",
        "subscribers.index",
        "audit.index",
    }
    for endpoint, url, plan_id in walked:
        # buffered: a streamed body (the CSV) is read inside its request's own context.
        response = site.client.get(url, follow_redirects=True, buffered=True)
        mimetype = NOT_HTML.get(endpoint, "text/html")
        shows = recorded_data_on(endpoint, plan_id)
        pages.add(f"GET {url}", response, shows=shows, mimetype=mimetype)


def render_states(site: Site, pages: Pages, monkeypatch) -> None:
    """Pages in the states a plain GET of each URL does not show."""
    client, language = site.client, pages.language
    audit = Shows(audit=True)

    def get(url, status=200, shows=NOTHING_RECORDED):
        pages.add(f"GET {url}", client.get(url), status, shows)

    # Filters, empty and past-the-last lists.
    get("/admin/plans?status=active")
    get("/admin/plans?status=inactive")
    get("/admin/plans/pro/subscribers?status=past_due&q=Smith")
    get("/admin/plans/pro/subscribers?page=2&page_size=20")
    get("/admin/plans/pro/subscribers?q=nobody-at-all")  # no match for the filters
    get("/admin/plans/pro/subscribers?page=99")  # past the last page
    get("/admin/plans/business/subscribers")  # a plan without subscribers
    # Every plan's subscribers (issue 13): filtered and sorted, no match, a capped total.
    get("/admin/subscribers?q=Smith&plan=pro&status=active&sort=period_end&direction=asc")
    get("/admin/subscribers?q=nobody-at-all")
    site.app.config["SEARCH_COUNT_CAP"] = 1
    get("/admin/subscribers?q=example&page_size=20")
    site.app.config["SEARCH_COUNT_CAP"] = 10_000
    get("/admin/audit?action=plan_updated&plan=pro&admin=admin%40example.com", shows=audit)
    get("/admin/audit?page=2&page_size=5", shows=audit)
    get("/admin/audit?plan=no-such-plan")  # no entry matches
    get("/admin/audit?page=99", shows=audit)

    # Deleting: refused (active subscribers; an inactive plan with one), and refused on POST.
    get("/admin/plans/pro/delete")
    get("/admin/plans/newyear_2025/delete")
    pages.add("POST delete pro", site.post("/admin/plans/pro/delete"), 409)

    # The plan form with errors: field errors, a broken rule, a price change to confirm, a
    # stale edit, a missing version.
    invalid = {
        "id": "Not an id!",
        "name": "",
        "price": "free",
        "tokens_input": "lots",
        "display_order": "first",
        "plan_extra_metadata": "{oops",
    }
    pages.add("POST new plan, invalid", site.post("/admin/plans/new", invalid), 422)
    pages.add(
        "POST new plan, taken id",
        site.post("/admin/plans/new", {**plan_form_of("pro"), "id": "pro"}),
        422,
    )
    lowered = plan_form_of("pro", tokens_input="10")
    pages.add("POST edit pro, lowered quota", site.post("/admin/plans/pro/edit", lowered), 422)
    repriced = plan_form_of("pro", price="1990.00")
    pages.add("POST edit pro, new price", site.post("/admin/plans/pro/edit", repriced), 200)
    stale = plan_form_of("pro", version="1", description="Someone else's words")
    pages.add(
        "POST edit pro, stale",
        site.post("/admin/plans/pro/edit", stale),
        409,
        Shows(audit=True, plans=("pro",), literal=("Someone else's words",)),
    )
    unversioned = plan_form_of("pro", version="")
    pages.add("POST edit pro, no version", site.post("/admin/plans/pro/edit", unversioned), 422)

    # Actions and their flash messages, on the page each one leads to.
    def action(label, path, data=None, shows=NOTHING_RECORDED):
        pages.add(label, site.post(path, data, follow_redirects=True), shows=shows)

    pro = recorded_data_on("plans.detail", "pro")
    action("deactivate pro", "/admin/plans/pro/deactivate", shows=pro)
    action("deactivate pro again", "/admin/plans/pro/deactivate", shows=pro)
    action("activate pro", "/admin/plans/pro/activate", shows=pro)
    action("activate pro again", "/admin/plans/pro/activate", shows=pro)
    action("deactivate, back to list", "/admin/plans/pro/deactivate", {"next": "/admin/plans"})
    action("duplicate pro", "/admin/plans/pro/duplicate")
    copy = recorded_data_on("plans.detail", "pro_copy")
    unchanged = plan_form_of("pro_copy")
    action("save without changes", "/admin/plans/pro_copy/edit", unchanged, shows=copy)
    saved = plan_form_of("pro_copy", display_order="9")
    action("save changes", "/admin/plans/pro_copy/edit", saved, shows=copy)
    new = {**plan_form_of(LEGACY), "id": "legacy_two"}
    action("create a plan", "/admin/plans/new", new, recorded_data_on("plans.detail", "legacy_two"))
    action("delete a plan", "/admin/plans/pro_copy/delete")

    render_price_states(site, pages, monkeypatch)
    render_subscription_states(site, pages)

    # Error pages: 404 (ours and werkzeug's), 405, CSRF, NUL, unknown language, 500 and 503.
    unknown_plan = Shows(literal=("nope",))  # "Plan 'nope' not found": the id in the URL
    get("/admin/plans/nope", 404, unknown_plan)
    get("/admin/plans/nope/subscribers", 404, unknown_plan)
    get("/admin/no-such-page", 404)
    get("/logout", 405)
    get("/admin/plans?status=%00", 400)
    pages.add("POST without CSRF token", client.post("/admin/plans/new", data={}), 400)
    pages.add("unknown language", site.post("/account/language", {"locale": "xx"}), 400)

    def broken(error):
        def raise_it(*args, **kwargs):
            raise error

        return raise_it

    with monkeypatch.context() as patch:
        patch.setattr("billing_admin.dashboard.views.overview", broken(RuntimeError("boom")))
        get("/admin/", 500)
        down = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed"))
        patch.setattr("billing_admin.dashboard.views.overview", broken(down))
        get("/admin/", 503)
        bug = sa.exc.ProgrammingError("SELECT 1", {}, Exception("no such column"))
        patch.setattr("billing_admin.dashboard.views.overview", broken(bug))
        get("/admin/", 500)

    # Accounts: the list with an error, the one-time link, the set-password page and its
    # errors, the account page with a weak new password, the recovery codes.
    taken = {"email": ADMIN_EMAIL, "name": "", "role": "viewer"}
    pages.add("add an account, taken", site.post("/admin/accounts", taken), 422)
    link_page = site.post("/admin/accounts", {"email": "newcomer@example.com", "role": "viewer"})
    pages.add(
        "the set-password link",
        link_page,
        shows=Shows(
            literal=(
                re.search(
                    r'class="password-link">([^<]+)<', link_page.get_data(as_text=True)
                ).group(1),
            )
        ),
    )
    link = re.search(
        r"http://localhost(/set-password/[^<]+)<", link_page.get_data(as_text=True)
    ).group(1)
    newcomer = site.app.test_client()
    newcomer.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    form = newcomer.get(link)
    pages.add("set-password page", form)
    bad = {
        "password": "123456789012",
        "confirm": "123456789012",
        "csrf_token": csrf_token_from(form.get_data(as_text=True)),
    }
    pages.add("set-password, weak", newcomer.post(link, data=bad))
    pages.add("set-password, bad link", newcomer.get("/set-password/nope"), 404)
    weak = {"current": ADMIN_PASSWORD, "password": "            ", "confirm": "x"}
    pages.add("account page, errors", site.post("/account/password", weak), 422)
    pages.add(
        "account: time zone refused",
        site.post("/account/time-zone", {"time_zone": "Moscow"}),
        422,
        Shows(literal=("Moscow",)),
    )
    action("account: end other sessions", "/account/sessions/end-others")
    enrol = client.get("/account/second-factor")
    pages.add("account: enrolment", enrol)
    secret = re.search(r'class="secret-key">([A-Z2-7 ]+)<', enrol.get_data(as_text=True)).group(1)
    import pyotp

    code = pyotp.TOTP(secret.replace(" ", "")).at(NOW)
    pages.add("recovery codes", site.post("/account/second-factor", {"code": code}))
    pages.add("account page, second factor on", client.get("/account"))

    # A signed-in user who is not (or no longer) an admin: 403. Their own browser's language.
    add_user(FORMER_ADMIN, ADMIN_PASSWORD, role="admin")
    former = site.app.test_client()
    former.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    assert AuthActions(former).login(FORMER_ADMIN).status_code == 302
    db.session.execute(sa.update(User).where(User.email == FORMER_ADMIN).values(role="user"))
    db.session.commit()
    pages.add("403 for a non-admin", former.get("/admin/"), 403)

    # Signing in, anonymous: the browser's language.
    anonymous = site.app.test_client()
    anonymous.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    visitor = AuthActions(anonymous)
    pages.add("sign-in page", anonymous.get("/login?next=/admin/plans"))
    empty = anonymous.post("/login", data={"csrf_token": visitor.csrf_token()})
    pages.add("sign-in with empty fields", empty)
    pages.add("failed sign-in", visitor.login(ADMIN_EMAIL, "wrong password!"))
    for _ in range(6):
        slowed = visitor.login(LOCKED_OUT, "wrong password!")
    pages.add("slowed down, seconds", slowed)
    pages.add("signed out when idle", anonymous.get("/login?idle=1"))
    limited = site.app.test_client()
    limited.environ_base.update(HTTP_ACCEPT_LANGUAGE=language, REMOTE_ADDR="198.51.100.77")
    site.app.config["SIGN_IN_CLIENT_LIMIT"] = "10 per minute"
    for n in range(11):
        answer = AuthActions(limited).login(f"guess{n}@example.com", "wrong password!")
    site.app.config["SIGN_IN_CLIENT_LIMIT"] = "100000 per minute"
    pages.add("too many from one address", answer, 429)

    # The steps after the password: a second-factor code (wrong), a new password (weak), the
    # enrolment a site that requires one asks for.
    from billing_admin.models import AdminAccount
    from tests.helpers import TOTP_SECRET

    add_user("second-factor@example.com", ADMIN_PASSWORD, role="admin")
    db.session.rollback()
    account = db.session.scalar(
        sa.select(AdminAccount).join(User).where(User.email == "second-factor@example.com")
    )
    account.totp_secret, account.must_change_password = TOTP_SECRET, True
    db.session.commit()
    stepper = site.app.test_client()
    stepper.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    steps = AuthActions(stepper)
    steps.login("second-factor@example.com")
    weak = {"password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaab"}
    token = csrf_token_from(stepper.get("/login/new-password").get_data(as_text=True))
    pages.add(
        "new password, weak",
        stepper.post("/login/new-password", data={**weak, "csrf_token": token}),
    )
    good = {"password": "amber kettle orbit", "confirm": "amber kettle orbit", "csrf_token": token}
    stepper.post("/login/new-password", data=good)
    pages.add("second-factor code page", stepper.get("/login/code"))
    pages.add("wrong code", steps.code("000000"))
    site.app.config["REQUIRE_SECOND_FACTOR"] = True
    enroller = site.app.test_client()
    enroller.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    add_user("enrol@example.com", ADMIN_PASSWORD, role="viewer")
    AuthActions(enroller).login("enrol@example.com")
    page = enroller.get("/login/second-factor")
    pages.add("enrolment at sign-in", page)
    wrong = {"code": "000000", "csrf_token": csrf_token_from(page.get_data(as_text=True))}
    pages.add("enrolment, wrong code", enroller.post("/login/second-factor", data=wrong))
    site.app.config["REQUIRE_SECOND_FACTOR"] = False

    # Signing out, with the browser asking for the language (the account's choice is gone with
    # the session; the sign-in page follows the browser).
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    pages.add("signed out", site.post("/logout", follow_redirects=True))


def render_price_states(site: Site, pages: Pages, monkeypatch) -> None:
    """Issue 12's states: a stale move preview (409), a move under way (its progress, the
    preview and a second move refused, "still running"), a move that stopped ("Continue the
    move"), and a finished one (its audit entry, "That move has finished.")."""
    pro = recorded_data_on("plans.detail", "pro")
    move_url = "/admin/plans/pro/prices/move"
    stale = site.post(move_url, {"fingerprint": "numbers seen long ago"})
    pages.add("POST move, numbers changed", stale, 409)
    started: list = []
    with monkeypatch.context() as patch:  # the move is recorded but its runner never starts
        patch.setattr(
            "billing_admin.plans.views.run_in_background", lambda name, work: started.append(work)
        )
        fingerprint = re.search(
            r'name="fingerprint" value="([^"]*)"', stale.get_data(as_text=True)
        ).group(1)
        confirmed = site.post(
            move_url, {"fingerprint": unescape(fingerprint)}, follow_redirects=True
        )
        pages.add("POST move, started", confirmed, shows=pro)
        assert len(started) == 1
        assert "<progress" in confirmed.get_data(as_text=True)
        pages.add(f"GET {move_url}, under way", site.client.get(move_url))
        again = site.post(move_url, {"fingerprint": unescape(fingerprint)}, follow_redirects=True)
        pages.add("POST move, under way", again, shows=pro)
        move_id = db.session.scalar(sa.select(PriceMove.id))
        db.session.rollback()
        continue_url = f"/admin/plans/pro/prices/moves/{move_id}/continue"
        pages.add("continue, running", site.post(continue_url, follow_redirects=True), shows=pro)
        site.set_clock(NOW + 120)
        stopped = site.client.get("/admin/plans/pro")
        assert f'action="{continue_url}"' in stopped.get_data(as_text=True)
        pages.add("a move that stopped", stopped, shows=pro)
        pages.add("continue, stopped", site.post(continue_url, follow_redirects=True), shows=pro)
    started[-1]()  # the runner, to the end
    db.session.rollback()
    assert db.session.get(PriceMove, move_id).status == "completed"
    db.session.rollback()
    pages.add("continue, finished", site.post(continue_url, follow_redirects=True), shows=pro)
    site.set_clock(NOW)
    pages.add(
        "the move in the audit log",
        site.client.get("/admin/audit?action=plan_subscriptions_moved"),
        shows=Shows(audit=True),
    )


def render_subscription_states(site: Site, pages: Pages) -> None:
    """Issue 13's states: an action's confirmation, a refusal by its field (the typed value
    kept) and of the subscription as a whole, a stale version, an action done (its flash and
    history entry), the audit log's subscription entries, unknown ids."""
    active_id, _ = subscription_for("subscriptions.detail")
    base = f"/admin/subscriptions/{active_id}"
    version = str(db.session.get(Subscription, active_id).version)  # the price move bumped it
    starter_price = str(current_price_id("starter"))  # the price a confirmation names
    db.session.rollback()
    pages.add(
        "change plan: confirm",
        site.post(f"{base}/change-plan", {"plan_id": "starter", "version": version}),
    )
    pages.add(
        "change plan: inactive",
        site.post(f"{base}/change-plan", {"plan_id": "business", "version": version}),
        422,
    )
    pages.add(
        "extend: not a number",
        site.post(f"{base}/extend", {"days": "lots", "version": version}),
        422,
        Shows(literal=("lots",)),
    )
    pages.add("extend: confirm", site.post(f"{base}/extend", {"days": "30", "version": version}))
    pages.add("pause: stale", site.client.get(f"{base}/pause?version=99"), 409)
    pages.add("resume: refused", site.client.get(f"{base}/resume"), 409)
    done = site.post(
        f"{base}/change-plan",
        {
            "plan_id": "starter",
            "reviewed_price_id": starter_price,
            "version": version,
            "confirm": "1",
        },
        follow_redirects=True,
    )
    pages.add("change plan: done", done, shows=Shows(audit=True))
    extended = site.post(
        f"{base}/extend",
        {"days": "7", "version": str(int(version) + 1), "confirm": "1"},
        follow_redirects=True,
    )
    pages.add("extend: done", extended, shows=Shows(audit=True))
    pages.add(
        "subscription actions in the audit log",
        site.client.get("/admin/audit?kind=subscriptions"),
        shows=Shows(audit=True),
    )
    unknown = Shows(literal=("nope",))
    pages.add("unknown subscription", site.client.get("/admin/subscriptions/nope"), 404, unknown)
    pages.add("unknown user", site.client.get("/admin/users/nope"), 404, unknown)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_shows_only_its_language(site, language, monkeypatch):
    site.use_language(language)
    pages = Pages(language)
    render_walked_pages(site, pages)
    render_states(site, pages, monkeypatch)
    problems = pages.problems(collect_data())
    assert not problems, f"{len(problems)} strings in the wrong language:\n" + "\n".join(problems)


def test_the_wait_message_counts_seconds_in_russian(app, client, set_clock):
    """1 секунду, 2 секунды, 5 секунд: Russian's plural forms."""
    app.config["SIGN_IN_CLIENT_LIMIT"] = "100000 per minute"
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    visitor = AuthActions(client)

    def attempt(at: int) -> str:
        set_clock(at)
        html = visitor.login(LOCKED_OUT, "wrong password!").get_data(as_text=True)
        match = re.search(r'class="error-summary".*?<li>([^<]*)</li>', html, re.S)
        return match.group(1) if match else ""

    for _ in range(5):
        attempt(NOW)  # five free failures
    messages = [attempt(NOW)]  # waits 1 s
    attempt(NOW + 10)  # the sixth failure: 2 s
    messages.append(attempt(NOW + 10))
    attempt(NOW + 20)  # the seventh: 4 s
    attempt(NOW + 30)  # the eighth: 8 s
    messages.append(attempt(NOW + 33))
    assert [m.rsplit(" ", 2)[-2:] for m in messages] == [
        ["1", "секунду."],
        ["2", "секунды."],
        ["5", "секунд."],
    ], messages


# --- The language switcher --------------------------------------------------------------------


def saved_locale(email: str = ADMIN_EMAIL) -> str | None:
    db.session.rollback()
    locale = db.session.scalar(sa.select(User.locale).where(User.email == email))
    db.session.rollback()
    return locale


def language_of(client, path: str = "/admin/plans", **kwargs) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.status_code
    return page_language(response.get_data(as_text=True))


def switch(client, data: dict, with_token: bool = True):
    if with_token:
        page = client.get("/admin/plans").get_data(as_text=True)
        data = {**data, "csrf_token": csrf_token_from(page)}
    return client.post("/account/language", data=data)


def test_the_switcher_saves_the_choice_and_goes_back(app, admin_client, auth):
    assert language_of(admin_client) == "en"
    response = switch(admin_client, {"locale": "ru", "next": "/admin/plans?status=active"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/plans?status=active"
    assert saved_locale() == "ru"
    html = admin_client.get("/admin/plans?status=active").get_data(as_text=True)
    assert page_language(html) == "ru"
    assert '<button type="submit" name="locale" value="en"' in html  # English is one click away

    # Another browser holding the same session, with no Accept-Language.
    other = app.test_client()
    other.set_cookie("session", admin_client.get_cookie("session").value)
    assert language_of(other) == "ru"
    # Signing out and in again: the choice is on the account, not in the session.
    auth.logout()
    assert auth.login().status_code == 302
    assert language_of(admin_client) == "ru"
    fresh = app.test_client()
    assert AuthActions(fresh).login().status_code == 302
    assert language_of(fresh) == "ru"

    assert switch(admin_client, {"locale": "en"}).status_code == 303
    assert saved_locale() == "en"
    assert language_of(admin_client) == "en"


def test_an_unknown_language_is_refused_and_nothing_is_saved(admin_client):
    response = switch(admin_client, {"locale": "xx", "next": "/admin/plans"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Unknown language: choose English or Русский." in html
    assert saved_locale() is None
    assert language_of(admin_client) == "en"


def test_the_switcher_needs_the_csrf_token(admin_client):
    response = switch(admin_client, {"locale": "ru"}, with_token=False)
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert saved_locale() is None


@pytest.mark.parametrize(
    "target", ["https://evil.example/admin/", "//evil.example/", "/\\evil.example", ""]
)
def test_the_switcher_goes_only_to_pages_of_this_site(admin_client, target):
    response = switch(admin_client, {"locale": "ru", "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    assert saved_locale() == "ru"


def test_an_anonymous_switch_goes_to_sign_in_and_saves_nothing(client, admin):
    response = client.post("/account/language", data={"locale": "ru"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert saved_locale() is None


@pytest.mark.parametrize(
    ("saved", "accept_language", "expected"),
    [
        (None, "ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        (None, "ru", "ru"),
        (None, "en-US,en;q=0.9,ru;q=0.8", "en"),
        (None, "de", "en"),
        (None, None, "en"),
        ("en", "ru", "en"),
        ("ru", None, "ru"),
        ("ru", "en-GB", "ru"),
    ],
)
def test_the_language_is_the_saved_choice_else_the_browsers_else_english(
    admin_client, saved, accept_language, expected
):
    db.session.execute(sa.update(User).where(User.email == ADMIN_EMAIL).values(locale=saved))
    db.session.commit()
    headers = {"Accept-Language": accept_language} if accept_language else {}
    assert language_of(admin_client, headers=headers) == expected


@pytest.mark.parametrize(
    ("accept_language", "expected"), [("ru-RU,ru;q=0.9", "ru"), ("de", "en"), (None, "en")]
)
def test_the_sign_in_page_follows_the_browser(client, accept_language, expected):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    assert language_of(client, "/login", headers=headers) == expected


# --- What stays English -----------------------------------------------------------------------


def test_the_json_api_stays_english(admin_client):
    switch(admin_client, {"locale": "ru"})
    ru = {"Accept-Language": "ru"}
    api = "/api/v1/admin/billing"
    cases = [
        (f"{api}/plans/x", "GET", 404, "Plan 'x' not found"),
        (f"{api}/plans/x/subscribers", "GET", 404, "Plan 'x' not found"),
        ("/api/v1/nothing", "GET", 404, NotFound.description),
        (f"{api}/plans", "PATCH", 405, "The method is not allowed for the requested URL."),
        (
            f"{api}/plans",
            "POST",
            400,
            "The CSRF token is missing or invalid: a write made with a browser session must "
            "send the page's CSRF token in the X-CSRFToken header (or use a Bearer token).",
        ),
        (f"{api}/plans?status=%00", "GET", 400, "Text must not contain NUL characters."),
    ]
    for path, method, status, detail in cases:
        response = admin_client.open(path, method=method, headers=ru)
        assert (response.status_code, response.get_json()) == (status, {"detail": detail}), path
    assert admin_client.get(f"{api}/plans", headers=ru).status_code == 200


def test_the_api_refuses_anonymous_callers_in_english(client):
    response = client.get("/api/v1/whoami", headers={"Accept-Language": "ru"})
    assert (response.status_code, response.get_json()) == (401, {"detail": "Not authenticated"})


@pytest.mark.parametrize("code", sorted(ERROR_TITLES))
def test_each_error_page_is_translated_and_english_is_werkzeugs(app, code):
    """The title and default description of every status the app answers with, in both
    languages: English word for word werkzeug's, Russian with no English left."""
    error = default_exceptions[code]()
    # A fresh app context each: the locale is cached in ``g`` for the rest of the context.
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "en"}):
        assert (error_title(error), error_description(error)) == (error.name, error.description)
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "ru"}):
        title, description = error_title(error), error_description(error)
        own = type(error)(description="Plan 'x' not found")
        assert error_description(own) == "Plan 'x' not found"  # an error's own words are kept
    for text in (title, description):
        assert CYRILLIC.search(text) and not ENGLISH_WORD.search(text), (code, text)
    assert set(DEFAULT_DESCRIPTIONS) == set(ERROR_TITLES)


def test_an_unknown_status_keeps_werkzeugs_name(app):
    error = default_exceptions[418]()
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        assert (error_title(error), error_description(error)) == (error.name, error.description)
