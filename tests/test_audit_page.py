"""/admin/audit: newest first, filters, page links that keep the filters."""

import re
import time
from datetime import UTC, datetime
from html import unescape

import pytest

from billing_admin.audit.service import Actor, record_plan_change
from billing_admin.extensions import db


@pytest.fixture
def entries(admin, set_clock):
    """25 entries: plan p0..p4, alternating actions and two admins, one per minute from now
    (the admin's session, which started now, stays valid)."""
    start = int(time.time())
    for n in range(25):
        set_clock(start + 60 * n)
        record_plan_change(
            "plan_updated" if n % 2 else "plan_created",
            f"p{n % 5}",
            {"name": {"old": f"old {n}", "new": f"new {n}"}},
            actor=Actor("ops@example.com" if n % 3 else "admin@example.com"),
        )
        db.session.commit()


def shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<ins>new (\d+)</ins>", html)]


def test_newest_first_with_page_links(admin_client, entries):
    html = unescape(admin_client.get("/admin/audit").get_data(as_text=True))
    assert shown(html) == list(range(24, 4, -1))
    # 25 plan changes and the admin's own sign-in (a security event, the oldest).
    assert "Showing 1–20 of 26" in html
    second = unescape(admin_client.get("/admin/audit?page=2").get_data(as_text=True))
    assert shown(second) == [4, 3, 2, 1, 0]
    assert "Showing 21–26 of 26" in second
    assert "signed in" in second


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=plan_created", [n for n in range(24, -1, -1) if n % 2 == 0]),
        ("plan=p1", [21, 16, 11, 6, 1]),
        ("admin=admin@example.com", [n for n in range(24, -1, -1) if n % 3 == 0]),
        ("action=plan_updated&plan=p1", [21, 11, 1]),
        ("action=nonsense", list(range(24, -1, -1))),  # an unknown action is ignored
        ("kind=plans", list(range(24, -1, -1))),
        ("kind=security", []),
        ("kind=nonsense", list(range(24, -1, -1))),
    ],
)
def test_filters(admin_client, entries, query, expected):
    html = unescape(admin_client.get(f"/admin/audit?{query}&page_size=100").get_data(as_text=True))
    assert shown(html) == expected


def test_page_links_keep_the_filters_and_page_size(admin_client, entries):
    html = unescape(
        admin_client.get("/admin/audit?action=plan_created&page_size=5").get_data(as_text=True)
    )
    links = re.findall(r'href="(/admin/audit\?[^"]*page=\d+[^"]*)"', html)
    assert links
    for link in links:
        if "page_size=" in link and "page_size=5" not in link:
            continue  # the page-size choices themselves
        assert "action=plan_created" in link, link
        assert "page_size=5" in link, link


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=99999",
        "page_size=0",
        "page_size=abc",
        "page_size=1000",
        "page=1.5",
    ],
)
def test_nonsense_paging_still_answers(admin_client, entries, query):
    assert admin_client.get(f"/admin/audit?{query}").status_code == 200


def test_the_page_says_when_the_chain_was_never_verified(admin_client):
    html = unescape(admin_client.get("/admin/audit").get_data(as_text=True))
    assert "The chain of entries has not been verified yet: run flask audit verify." in html


def test_the_page_shows_how_far_the_chain_was_verified_and_when(
    admin_client, entries, runner, set_clock
):
    from billing_admin.audit.verification import latest_verification

    # The 25 plan entries and the admin's sign-in (a security event, also in the trail).
    assert runner.invoke(args=["audit", "verify"]).output == "ok, 26 entries\n"
    verified_at = datetime.fromtimestamp(latest_verification().verified_at, UTC)
    db.session.rollback()
    html = unescape(admin_client.get("/admin/audit").get_data(as_text=True))
    hour = verified_at.strftime("%I").lstrip("0")
    english = f"Chain verified up to entry 26 at {verified_at:%b} {verified_at.day}, {verified_at.year}, {hour}:{verified_at:%M}\u202f{verified_at:%p} UTC."
    assert english in html
    russian = unescape(
        admin_client.get("/admin/audit", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    )
    assert f"Цепочка проверена до записи 26 включительно, {verified_at.day} " in russian
    assert f"{verified_at.year}\u202fг., {verified_at:%H:%M} UTC." in russian


def test_the_page_warns_when_the_last_verification_found_a_break(admin_client, entries, runner):
    from billing_admin.models import AuditVerification

    db.session.add(
        AuditVerification(
            entries=6, last_entry_id=6, last_entry_hash="0" * 64, broken_entry_id=7, problem="x"
        )
    )
    db.session.commit()
    html = unescape(admin_client.get("/admin/audit").get_data(as_text=True))
    assert 'role="alert">The chain of entries was found broken at entry 7 at' in html
    assert "Chain verified" not in html


def test_each_entry_shows_its_number(admin_client, entries):
    html = admin_client.get("/admin/audit?page_size=100").get_data(as_text=True)
    # The admin's sign-in (entry 1), then the 25 plan entries.
    assert re.findall(r"<tr>\s*<td[^>]*>(\d+)</td>", html) == [str(n) for n in range(26, 0, -1)]


def test_security_events_are_shown_and_filtered(app, admin_client, entries, client):
    from tests.helpers import AuthActions

    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    AuthActions(other).login("Intruder<b>@example.com", "wrong password!")
    html = admin_client.get("/admin/audit?kind=security").get_data(as_text=True)
    assert "sign-in failed" in html and "signed in" in html
    assert "wrong email or password" in html
    assert "198.51.100.9" in html
    assert "intruder&lt;b&gt;@example.com" in html  # the typed email, escaped
    assert "<ins>new" not in html
    only = admin_client.get("/admin/audit?action=sign_in_failed").get_data(as_text=True)
    assert not re.search(r"<td[^>]*>signed in</td>", only)
    assert re.search(r"<td[^>]*>sign-in failed</td>", only)
