"""Issue 13's search at its edges (docs/subscribers.md, "Search", "Totals and the cap"): odd
queries, paging past the end of capped and uncounted searches, exports, users changed by SQL.
Each case was found by trying to break it; on every engine."""

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate import downgrade, upgrade

from billing_admin.extensions import db
from billing_admin.models import Subscription, User
from billing_admin.subscribers.service import SubscriberFilter, iter_subscribers, subscribers_page
from tests.helpers import add_plan, read_csv
from tests.subscriber_data import T0, add_subscriber, bulk_subscribers


@pytest.fixture
def plans(app):
    add_plan("pro")
    add_plan("free", name="Free")
    return app


@pytest.fixture
def twenty(plans):
    """20 subscribers on two plans, ties in created_at, every email contains "example"."""
    made = bulk_subscribers("pro", 12, created_at=[T0, T0 + 5, T0 + 5, T0 + 9])
    made += bulk_subscribers("free", 8, created_at=[T0 + 1, T0 + 5], statuses=["active", "paused"])
    return made


def walk(plan_id=None, size=3, **kwargs) -> list[str]:
    ids, number = [], 1
    while True:
        page = subscribers_page(plan_id, page=number, page_size=size, **kwargs)
        if not page.items:
            return ids
        ids += [row.subscription_id for row in page.items]
        number += 1
        assert number < 100


def user_ids(query: str, plan_id=None) -> set[str]:
    page = subscribers_page(plan_id, search=query, page_size=100)
    return {row.user_id for row in page.items}


# --- Odd queries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "%",
        "_",
        "\\",
        "'",
        '"',
        "%%%",
        "_\\_",
        "a'b",
        'a"b',
        "😀",
        "x" * 500,
        "\t\n ",
        "Ёё",
        "a\x00b",
    ],
)
def test_odd_queries_never_fail_in_the_page_and_the_export(admin_client, twenty, query):
    for path in (
        "/admin/subscribers",
        "/admin/plans/pro/subscribers",
        "/admin/subscribers.csv",
        "/admin/plans/pro/subscribers.xlsx",
    ):
        response = admin_client.get(path, query_string={"q": query}, buffered=True)
        # A NUL is refused with 400 before any view runs; everything else is a search.
        expected = 400 if "\x00" in query else 200
        assert response.status_code == expected, (path, query, response.status_code)


def test_wildcards_quotes_and_emoji_are_literal(plans):
    pct = add_subscriber("pro", email="p%c@example.com", name="100% sure").user_id
    under = add_subscriber("pro", email="u_s@example.com", name="a_b").user_id
    slash = add_subscriber("pro", email="s\\l@example.com", name="back\\slash").user_id
    quote = add_subscriber("pro", email="o'brien@example.com", name='Say "hi"').user_id
    smile = add_subscriber("pro", email="smile@example.com", name="Happy 😀😀 face").user_id
    add_subscriber("pro", email="plain@example.com", name="Plain Person")
    assert user_ids("%") == set()  # a 1-character prefix: nothing starts with %
    assert user_ids("p%") == {pct}
    assert user_ids("0% s") == {pct}
    assert user_ids("_") == set()
    assert user_ids("u_s") == {under}
    assert user_ids("\\l@") == {slash}
    assert user_ids("o'b") == {quote}
    assert user_ids('"hi"') == {quote}
    assert user_ids(" 😀😀 f") == {smile}
    assert user_ids("y 😀") == {smile}


def test_a_prefix_ending_in_the_last_code_point_finds_only_that_prefix(plans):
    """A 2-character query is a prefix; one ending in U+10FFFF has no upper bound, and the
    range must not then take in every later string (here: every email starting with "b")."""
    add_subscriber("pro", email="bob@example.com", name="Bob")
    add_subscriber("pro", email="zed@example.com", name="Zed")
    assert user_ids("a\U0010ffff") == set()


def test_a_query_cut_at_100_characters_still_finds_the_long_name(plans):
    long_name = "N" * 150
    user = add_subscriber("pro", email="long@example.com", name=long_name).user_id
    assert user_ids("n" * 300) == {user}


def test_accented_capitals_fold_but_accents_count(plans):
    elise = add_subscriber("pro", email="elise@example.fr", name="ÉLISE ŁUKASZ Ÿves").user_id
    plain = add_subscriber("pro", email="e@example.fr", name="Elise Lukasz").user_id
    assert user_ids("élise") == {elise}
    assert user_ids("łukasz") == {elise}
    assert user_ids("ÿves") == {elise}
    assert user_ids("elise") == {elise, plain}  # the email elise@ is Elise's too
    assert user_ids("lukasz") == {plain}
    assert user_ids("éL") == {elise}  # a prefix, folded


def test_yo_in_a_prefix_and_a_fragment(plans):
    yolkin = add_subscriber("pro", email="y@example.ru", name="Ёлкин Пётр").user_id
    assert user_ids("е") == {yolkin}
    assert user_ids("Ё") == {yolkin}
    assert user_ids("петр") == {yolkin}
    assert user_ids("ПЁТР") == {yolkin}


# --- Users changed by SQL -----------------------------------------------------------------------


def test_a_user_renamed_and_re_emailed_by_sql_is_found_by_the_new_text_only(plans):
    user = add_subscriber("pro", email="old@example.com", name="Old Name").user_id
    with db.engine.begin() as connection:
        connection.execute(
            sa.text('UPDATE "user" SET name = :name, email = :email WHERE id = :id'),
            {"name": "ŁUCJA Ёлкина", "email": "NEW@Example.COM", "id": user},
        )
    db.session.commit()  # end the session's snapshot: read what the SQL wrote
    assert user_ids("old") == set()
    assert user_ids("łucja") == {user}
    assert user_ids("елкина") == {user}
    assert user_ids("new@example.com") == {user}


def test_a_user_deleted_by_sql_is_gone_from_search_and_export(plans):
    keep = add_subscriber("pro", email="keep@example.com", name="Keep").user_id
    gone = add_subscriber("pro", email="gone@example.com", name="Gone")
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM billing_subscription WHERE user_id = :id"), {"id": gone.user_id}
        )
        connection.execute(sa.text('DELETE FROM "user" WHERE id = :id'), {"id": gone.user_id})
    db.session.commit()  # end the session's snapshot: read what the SQL wrote
    assert user_ids("example.com") == {keep}
    rows = iter_subscribers(SubscriberFilter.parse(None, None, "example.com"))
    assert [row.user_id for row in rows] == [keep]


# --- Paging: nonsense values --------------------------------------------------------------------


@pytest.mark.parametrize("page", ["0", "-3", "abc", "1e9", "99999999999999999999", ""])
@pytest.mark.parametrize("page_size", ["0", "-1", "1000", "x"])
def test_nonsense_paging_is_normalised_with_a_search(admin_client, twenty, page, page_size):
    response = admin_client.get(
        "/admin/subscribers",
        query_string={"q": "example", "page": page, "page_size": page_size, "sort": "x"},
    )
    assert response.status_code == 200


# --- Capped and uncounted searches: every row once, and past the end ---------------------------


@pytest.mark.parametrize("cap", [1, 2, 5, 19, 20, 21])
@pytest.mark.parametrize("plan_id", [None, "pro"])
@pytest.mark.parametrize("sort", ["subscribed", "period_end"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_matching_row_appears_once_whatever_the_cap(twenty, cap, plan_id, sort, direction):
    expected = walk(plan_id, sort=sort, direction=direction)
    current_app.config["SEARCH_COUNT_CAP"] = cap
    try:
        for query in ("example", "bu", "Bulk User"):
            got = walk(plan_id, search=query, sort=sort, direction=direction)
            assert got == expected, (query, cap)
            assert len(set(got)) == len(got)
    finally:
        current_app.config["SEARCH_COUNT_CAP"] = 10_000


def many_subscriptions(plan_ids: tuple[str, ...]) -> None:
    """many@example.com ("Many") with 7 subscriptions: one, then 6 more taking turns on
    ``plan_ids``."""
    user = add_subscriber("pro", email="many@example.com", name="Many").user_id
    for number in range(6):
        db.session.add(
            Subscription(
                user_id=user,
                plan_id=plan_ids[number % len(plan_ids)],
                status="active",
                current_period_start=T0,
                current_period_end=T0 + 99,
                created_at=T0 + number,
            )
        )
    db.session.commit()


def test_one_user_with_many_subscriptions_is_capped_and_paged_whole(plans):
    """Few users, more subscriptions than the cap: "more than", and every row still reachable."""
    many_subscriptions(("pro", "free"))
    current_app.config["SEARCH_COUNT_CAP"] = 3
    first = subscribers_page(None, search="many", page_size=2)
    assert first.capped and first.has_next
    assert len(walk(None, size=2, search="many")) == 7
    assert walk(None, size=2, search="many") == walk(None, size=2)


def test_page_two_of_an_uncounted_search_works(admin_client, twenty, app):
    app.config["SEARCH_COUNT_CAP"] = 5
    html = admin_client.get(
        "/admin/subscribers", query_string={"q": "example", "page": 2, "page_size": 3}
    ).get_data(as_text=True)
    assert "Showing 4–6 (not counted)" in html
    assert "page=3" in html  # Next


def test_an_uncounted_search_past_its_end_claims_no_last_page(admin_client, twenty, app):
    """20 rows match, the cap is 5: the total is not counted. Page 99 is past the end, and the
    page must not name a last page it never counted (the cap / page size is no page count:
    here it would say "the last page is 2" of 7 real pages)."""
    app.config["SEARCH_COUNT_CAP"] = 5
    html = admin_client.get(
        "/admin/subscribers", query_string={"q": "example", "page": 99, "page_size": 3}
    ).get_data(as_text=True)
    assert "No matches on page 99" in html
    assert "There are no matches on page 99." in html
    assert "Go to the first page" in html
    assert "the last page is 2" not in html
    assert "Go to the last page" not in html
    assert 'aria-label="Next page"' not in html


def test_a_capped_search_past_its_end_claims_no_last_page(admin_client, plans, app):
    """Few users, more subscriptions than the cap ("more than 3"): page 99 past the end must
    not say the last page is 2 (the cap / page size) when rows go on to page 4."""
    many_subscriptions(("pro",))
    app.config["SEARCH_COUNT_CAP"] = 3
    deep = subscribers_page(None, search="many", page=4, page_size=2)
    assert len(deep.items) == 1  # the 7th row is on page 4, past "the cap / page size"
    html = admin_client.get(
        "/admin/subscribers", query_string={"q": "many", "page": 99, "page_size": 2}
    ).get_data(as_text=True)
    assert "the last page is 2" not in html
    assert "past the last page (2)" not in html
    assert "There are no matches on page 99." in html


def test_uncounted_csv_holds_every_matching_row(admin_client, twenty, app):
    app.config["SEARCH_COUNT_CAP"] = 2
    body = admin_client.get(
        "/admin/subscribers.csv", query_string={"q": "example"}, buffered=True
    ).data
    rows = read_csv(body)[1:]
    assert len(rows) == 20
    pro = admin_client.get(
        "/admin/plans/pro/subscribers.csv",
        query_string={"q": "example", "direction": "asc"},
        buffered=True,
    ).data
    assert len(read_csv(pro)) - 1 == 12


def test_status_filter_with_uncounted_search(twenty, app):
    app.config["SEARCH_COUNT_CAP"] = 3
    expected = walk("free", status="paused")
    assert len(expected) == 4
    assert walk("free", status="paused", search="example") == expected
    page = subscribers_page("free", status="paused", search="example", page_size=100)
    assert (len(page.items), page.uncounted) == (4, True)  # 4 paused > a cap of 3: not counted
    app.config["SEARCH_COUNT_CAP"] = 4
    page = subscribers_page("free", status="paused", search="example", page_size=100)
    assert (page.total, page.capped, page.uncounted) == (4, False, False)


def test_exact_email_of_a_user_without_subscriptions_shows_nothing(plans):
    db.session.add(User(email="lonely@example.com", name="Lonely"))
    db.session.commit()
    add_subscriber("pro", email="lonely@example.com.au", name="Other")
    page = subscribers_page(None, search="LONELY@example.com")
    assert (page.items, page.total) == ([], 0)


def test_an_uncounted_search_with_no_match_on_page_one_says_nothing_matches(admin_client, plans):
    """More users match than the cap (they are on "free") and "pro" holds more subscriptions
    than the cap, none of them theirs: page 1 is empty, and must not say "There is no page 1:
    the last page is 2" with a link to that page, which is just as empty."""
    bulk_subscribers("free", 6, email_prefix="match")
    bulk_subscribers("pro", 5, email_prefix="other", name="Someone")
    current_app.config["SEARCH_COUNT_CAP"] = 3
    page = subscribers_page("pro", search="match", page_size=2)
    assert (page.items, page.uncounted) == ([], True)
    html = admin_client.get(
        "/admin/plans/pro/subscribers", query_string={"q": "match", "page_size": 2}
    ).get_data(as_text=True)
    assert "There is no page 1" not in html
    assert "Go to the last page" not in html
    assert "No subscribers match these filters." in html
    assert "No matches on page 1" in html
    assert 'aria-label="Next page"' not in html


def test_a_rename_by_sql_to_letters_of_every_fold_stage_is_found(plans):
    """SQLite folds in three stages (models/user_search.py); a rename holding letters of
    the second and third at once, in email and name, is found by their lower case."""
    user = add_subscriber("pro", email="x@example.com", name="x").user_id
    with db.engine.begin() as connection:
        connection.execute(
            sa.text('UPDATE "user" SET name = :name, email = :email WHERE id = :id'),
            {"name": "ÀŸÉŁ ҐЁ", "email": "ÀŸ@Ґ.example", "id": user},
        )
    db.session.commit()
    assert user_ids("àÿéł ґе") == {user}
    assert user_ids("àÿ@ґ.example") == {user}
    assert user_ids("àÿ") == {user}


def test_search_survives_migrations_down_past_0012_and_up_with_users(empty_app):
    """Users present: head, down to 0011 (no search tables), up to head again: the search
    rows are rebuilt from the users, with the accented capitals folded."""
    upgrade()
    add_plan("pro")
    add_subscriber("pro", email="ÀŸ@example.fr", name="ŁUKASZ Ёлкин")
    add_subscriber("pro", email="plain@example.com", name="Ann")
    db.session.remove()
    downgrade(revision="0011")
    upgrade()
    assert subscribers_page(None, search="łukasz").total == 1
    assert subscribers_page(None, search="àÿ@example.fr").total == 1
    assert subscribers_page(None, search="елкин").total == 1
    assert subscribers_page(None, search="example").total == 2


@pytest.mark.postgresql_only
def test_users_cannot_be_truncated_so_no_search_rows_are_left_behind(plans):
    """PostgreSQL: TRUNCATE fires no row trigger, so it would leave the search rows of the
    users it removed (and refuse a user added again with the same email). It cannot happen:
    the append-only audit log references "user", so the TRUNCATE is refused and nothing goes
    (migration 0019's docstring). A TRUNCATE of the subscriptions is allowed: its counts are
    emptied with it (tests/test_subscriber_counts_and_demo.py)."""
    user = add_subscriber("pro", email="again@example.com", name="First").user_id
    db.session.commit()  # end the session's transaction: TRUNCATE waits for every reader
    for statement, refusal in (
        ('TRUNCATE "user" CASCADE', "append-only: TRUNCATE refused"),
        ('TRUNCATE "user"', "cannot truncate a table referenced"),
    ):
        with pytest.raises(sa.exc.DBAPIError, match=refusal), db.engine.begin() as connection:
            connection.execute(sa.text(statement))
    assert user_ids("again@example.com") == {user}
