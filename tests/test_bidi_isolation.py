"""User-supplied text cannot restyle the page around it: with a right-to-left override (U+202E)
already in the database (written directly, as the app now refuses it), every page that shows
that text shows it isolated: inside <bdi> (or an element with dir), or between U+2068 FIRST
STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE where no element can go (the title, an
attribute, a message, a chart's text alternative)."""

from html.parser import HTMLParser

import pytest

from billing_admin.audit.service import Actor, record
from billing_admin.bidi import bdi, isolate
from billing_admin.extensions import db
from billing_admin.models import User
from tests.helpers import add_plan, add_subscription

RLO = "\u202e"
FSI, PDI = "\u2068", "\u2069"
EVIL_NAME = f"Evil{RLO}Team"
EVIL_RU = f"Злой{RLO}тариф"


class IsolationChecker(HTMLParser):
    """Collects every place where RLO appears outside an isolate."""

    # Form controls show their own value in their own box: nothing of the page is around it.
    OWN_BOX = frozenset({"textarea"})
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.leaks: list[str] = []

    def _isolated_here(self) -> bool:
        return any(isolated for _, isolated in self.stack)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and RLO in value and not (tag == "input" and name == "value"):
                self._check_text(value, f"<{tag} {name}>")
        if tag in self.VOID:
            return
        isolated = tag == "bdi" or tag in self.OWN_BOX or any(n == "dir" for n, _ in attrs)
        self.stack.append((tag, isolated))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if RLO in data and not self._isolated_here():
            where = "/".join(tag for tag, _ in self.stack[-3:])
            self._check_text(data, where)

    def _check_text(self, text: str, where: str) -> None:
        depth = 0
        for char in text:
            if char == FSI:
                depth += 1
            elif char == PDI:
                depth = max(depth - 1, 0)
            elif char == RLO and depth == 0:
                self.leaks.append(f"{where}: {text.strip()[:80]!r}")
                return


def leaks_in(html: str) -> list[str]:
    checker = IsolationChecker()
    checker.feed(html)
    return checker.leaks


def test_the_checker_finds_a_bare_override():
    assert leaks_in(f"<p>Plan {EVIL_NAME} saved</p>")
    assert leaks_in(f"<title>Edit {EVIL_NAME}</title>")
    assert leaks_in(f'<a aria-label="Role of {EVIL_NAME}">x</a>')
    assert not leaks_in(f"<p>Plan <bdi>{EVIL_NAME}</bdi> saved</p>")
    assert not leaks_in(f"<title>Edit {FSI}{EVIL_NAME}{PDI}</title>")


def test_isolating_leaves_plain_text_as_it_is_and_wraps_the_rest():
    assert isolate("Pro") == "Pro" and isolate("Про") == "Про" and isolate(None) is None
    assert isolate(EVIL_NAME) == f"{FSI}{EVIL_NAME}{PDI}"
    assert isolate("שלום") == f"{FSI}שלום{PDI}"  # right-to-left letters too
    assert str(bdi("<b>Pro</b>")) == "&lt;b&gt;Pro&lt;/b&gt;"
    assert str(bdi(f"<b>{EVIL_NAME}")) == f"<bdi>&lt;b&gt;{EVIL_NAME}</bdi>"


@pytest.fixture
def evil_plan(app, admin):
    add_plan(
        "evil",
        name=EVIL_NAME,
        name_ru=EVIL_RU,
        description=f"Best{RLO} plan",
        description_ru=f"Лучший{RLO} тариф",
        features=[f"GPT{RLO}-4o", "Plain feature"],
    )
    subscription = add_subscription("evil", "active")
    db.session.get(User, subscription.user_id).name = f"Anna{RLO} Ivanova"
    record(
        "plan_updated",
        "plan",
        "evil",
        actor=Actor.for_user(admin),
        changes={
            "name": {"old": "Evil", "new": EVIL_NAME},
            "features": {"old": [], "new": [f"GPT{RLO}-4o"]},
        },
    )
    db.session.commit()


PAGES = [
    "/admin/",
    "/admin/plans",
    "/admin/plans/evil",
    "/admin/plans/evil/edit",
    "/admin/plans/evil/delete",
    "/admin/plans/evil/prices/move",
    "/admin/plans/evil/subscribers",
    "/admin/audit",
]


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("path", PAGES)
def test_pages_isolate_text_from_the_database(admin_client, evil_plan, path, language):
    response = admin_client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    assert RLO in html, "the page does not show the data at all"
    assert leaks_in(html) == []
