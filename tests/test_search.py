"""Search by email or name (issue 13), below the pages: the indexed search returns exactly what a
brute-force oracle returns, the indexes follow every change to users, and sorting, paging, the
cross-plan filter and the count cap behave as docs/subscribers.md says. On every engine."""

import re

import pytest
import sqlalchemy as sa
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_admin.extensions import db
from billing_admin.models import Subscription, User
from billing_admin.models.user_search import FTS_TABLE, normalise
from billing_admin.subscribers.service import SubscriberFilter, iter_subscribers, subscribers_page
from tests.helpers import QueryCounter, add_plan
from tests.subscriber_data import T0, bulk_subscribers

EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def oracle(people: list[tuple[str, str, str]], query: str) -> set[str]:
    """The rules of docs/subscribers.md, "Search", by brute force over (user id, email, name)."""
    text = normalise(query.strip()[:100].strip())
    if not text:
        return {user for user, _, _ in people}
    if EMAIL_SHAPE.fullmatch(text):
        exact = {user for user, email, _ in people if normalise(email) == text}
        if exact:
            return exact
    if len(text) < 3:
        return {
            user
            for user, email, name in people
            if normalise(email).startswith(text) or normalise(name).startswith(text)
        }
    return {
        user for user, email, name in people if text in normalise(email) or text in normalise(name)
    }


def found(
    query: str, plan_id: str | None = None, status: str | None = None
) -> tuple[set, int, bool]:
    """(users on the first page, total, whether the total is not an exact count: capped or
    not counted at all)."""
    page = subscribers_page(plan_id, search=query, status=status, page_size=100)
    return {row.user_id for row in page.items}, page.total, page.capped or page.uncounted


@pytest.fixture
def plans(app):
    add_plan("pro")
    add_plan("free")
    return app


def add_person(email: str, name: str, plan_id: str = "pro", **fields) -> str:
    user = User(email=email, name=name)
    db.session.add(user)
    db.session.flush()
    db.session.add(
        Subscription(
            user_id=user.id,
            plan_id=plan_id,
            status=fields.get("status", "active"),
            current_period_start=T0,
            current_period_end=fields.get("period_end", T0 + 86_400),
            created_at=fields.get("created_at", T0),
        )
    )
    db.session.commit()
    return user.id


# --- The oracle -------------------------------------------------------------------------------

LETTERS = "aAbBeEzZ" + "éÉłŁÿŸ" + "аАеЕёЁжЖлЛкКґҐ" + "%_\\'\" .-"
NAMES = st.text(alphabet=LETTERS, max_size=8)
LOCAL = st.text(alphabet="aAbBeEéÉёЁжЖ%_\\'.-", min_size=1, max_size=5)
DOMAINS = st.sampled_from(["x.ru", "Ёж.рф", "EX.com", "a_b.org"])
QUERIES = st.one_of(
    st.text(alphabet=LETTERS + "@", min_size=1, max_size=5),
    st.sampled_from(["%", "_", "\\", "'", '"', "ё", "Ё", "е", "%_", "\\%", "e", "ёж", "ЁЖ.рф"]),
)


@st.composite
def people_and_queries(draw):
    people = draw(st.lists(st.tuples(LOCAL, DOMAINS, NAMES), min_size=1, max_size=10))
    emails = [f"{local}{number}@{domain}" for number, (local, domain, _) in enumerate(people)]
    names = [name for _, _, name in people]
    # Queries drawn from the data too (pieces of names and emails, whole emails in other case).
    picked = st.one_of(
        QUERIES,
        st.sampled_from(emails).map(str.upper),
        st.sampled_from(emails + names).flatmap(
            lambda text: st.tuples(st.integers(0, len(text)), st.integers(1, 6)).map(
                lambda cut: text[cut[0] : cut[0] + cut[1]] or "a"
            )
        ),
    )
    plans = draw(
        st.lists(st.sampled_from(["pro", "free"]), min_size=len(people), max_size=len(people))
    )
    return list(zip(emails, names, plans, strict=True)), draw(
        st.lists(picked, min_size=1, max_size=8)
    )


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=people_and_queries())
def test_indexed_search_finds_exactly_what_the_oracle_finds(plans, case):
    people, queries = case
    made = [(add_person(email, name, plan), email, name, plan) for email, name, plan in people]
    try:
        everyone = [(user, email, name) for user, email, name, _ in made]
        on_pro = [(user, email, name) for user, email, name, plan in made if plan == "pro"]
        for query in queries:
            expected = oracle(everyone, query)
            # Few matching users: their subscriptions, from the index.
            plans.config["SEARCH_COUNT_CAP"] = 10_000
            assert found(query) == (expected, len(expected), False), query
            assert found(query, "pro")[0] == oracle(on_pro, query), query
            # More matching users than the cap: subscriptions walked, each user tested.
            plans.config["SEARCH_COUNT_CAP"] = 1
            users, total, capped = found(query)
            assert users == expected, query
            assert (total, capped) == ((1, True) if len(expected) > 1 else (len(expected), False))
    finally:
        plans.config["SEARCH_COUNT_CAP"] = 10_000
        db.session.rollback()
        ids = [user for user, *_ in made]
        db.session.execute(sa.delete(Subscription).where(Subscription.user_id.in_(ids)))
        db.session.execute(sa.delete(User).where(User.id.in_(ids)))
        db.session.commit()
    assert search_index_rows() == 0  # the deletes emptied the index too


def search_index_rows() -> int:
    if db.engine.dialect.name != "sqlite":
        return 0
    return db.session.scalar(sa.text("SELECT count(*) FROM billing_user_search"))


# --- Examples the issue names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "finds"),
    [
        ("елкин", True),  # ё is е
        ("ЁЛКИН", True),
        ("Ёлкин", True),
        ("ёлкин", True),
        ("пётр", True),
        ("ПЕТР", True),
        ("лкин п", True),
        ("ёл", True),  # short: a prefix of the name
        ("лк", False),  # short and not a prefix
        ("ELKIN@", True),
        ("elkin@example.ru", True),  # an exact email
        ("lkin@example.ru", True),  # not an email of anyone: contains
        ("elkin_", False),  # _ is a character
        ("elk%", False),  # % is a character
    ],
)
def test_case_and_yo_do_not_matter_and_wildcards_are_characters(plans, query, finds):
    user = add_person("Elkin@Example.ru", "Ёлкин Пётр")
    assert found(query)[0] == ({user} if finds else set())


@pytest.mark.parametrize(
    ("query", "finds"),
    [
        ("élise", True),  # accented capitals are Latin too (migration 0018)
        ("ÉLISE", True),
        ("łukasz", True),
        ("ґудзь", True),
        ("ÉLISE@ÉCOLE.FR", True),  # an exact email
        ("elise", False),  # accents still count
        ("lukasz", False),
    ],
)
def test_accented_latin_and_ukrainian_capitals_are_case_insensitive(plans, query, finds):
    user = add_person("Élise@École.fr", "Łukasz Ґудзь")
    assert found(query)[0] == ({user} if finds else set())


def test_an_exact_email_finds_that_user_only_and_a_fragment_of_it_finds_more(plans):
    ann = add_person("ann@example.com", "Ann")
    joann = add_person("joann@example.com", "Jo Ann")
    assert found("ANN@example.com")[0] == {ann}
    assert found("nn@example.com")[0] == {ann, joann}
    assert found("nn@example.co")[0] == {ann, joann}  # looks like an email, is nobody's


def test_the_index_follows_inserts_renames_email_changes_and_deletes(plans):
    user = add_person("first@example.com", "Ёлкин")
    assert found("елкин")[0] == {user}
    db.session.get(User, user).name = "Smith"
    db.session.commit()
    assert found("елкин")[0] == set() and found("smit")[0] == {user}
    db.session.get(User, user).email = "Second@Example.com"
    db.session.commit()
    assert found("first@example.com")[0] == set()
    assert found("second@example.com")[0] == {user} and found("cond@ex")[0] == {user}
    # Any writer, not only the app: the triggers keep the index.
    db.session.commit()  # end this session's read, so it sees the other connection's write
    with db.engine.begin() as connection:
        connection.execute(
            sa.text('UPDATE "user" SET name = :name WHERE id = :id'),
            {"name": "Жёлудев", "id": user},
        )
    db.session.commit()
    assert found("желуд")[0] == {user} and found("smith")[0] == set()
    db.session.execute(sa.delete(Subscription).where(Subscription.user_id == user))
    db.session.execute(sa.delete(User).where(User.id == user))
    db.session.commit()
    assert found("желуд")[0] == set() and found("second@example.com")[0] == set()
    assert search_index_rows() == 0
    if db.engine.dialect.name == "sqlite":  # FTS5's own check of the index against the rows
        db.session.execute(
            sa.text(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('integrity-check')")
        )


def test_emails_equal_once_normalised_are_refused(plans):
    add_person("Ёж@example.com", "A")
    with pytest.raises(sa.exc.IntegrityError):
        add_person("еЖ@EXAMPLE.com", "B")
    db.session.rollback()


# --- Sorting, paging, plans, the cap ----------------------------------------------------------


def walk(plan_id=None, **args) -> list[str]:
    """Every subscription id, page by page (page size 3)."""
    ids, number = [], 1
    while True:
        page = subscribers_page(plan_id, page=number, page_size=3, **args)
        if not page.items:
            return ids
        ids += [row.subscription_id for row in page.items]
        number += 1


@pytest.fixture
def spread(plans):
    """20 subscribers on two plans, with ties in both dates."""
    made = bulk_subscribers(
        "pro", 12, created_at=[T0, T0 + 5, T0 + 5, T0 + 9], statuses=["active", "canceled"]
    )
    made += bulk_subscribers("free", 8, created_at=[T0 + 1, T0 + 5], statuses=["active", "paused"])
    with db.engine.begin() as connection:  # period ends in another order than created dates
        for number, row in enumerate(made):
            connection.execute(
                sa.text("UPDATE billing_subscription SET current_period_end = :end WHERE id = :id"),
                {"end": T0 + 1000 + (number * 7) % 5, "id": row.subscription_id},
            )
    return {row.subscription_id: row for row in made}


@pytest.mark.parametrize("sort", ["subscribed", "period_end"])
@pytest.mark.parametrize("direction", ["desc", "asc"])
@pytest.mark.parametrize("plan_id", [None, "pro"])
@pytest.mark.parametrize("status", [None, "active"])
def test_every_sort_pages_each_row_once_in_order(spread, sort, direction, plan_id, status):
    rows = db.session.execute(
        sa.select(
            Subscription.id,
            Subscription.created_at,
            Subscription.current_period_end,
            Subscription.plan_id,
            Subscription.status,
        )
    ).all()
    column = 1 if sort == "subscribed" else 2
    expected = sorted(
        (r for r in rows if plan_id in (None, r.plan_id) and status in (None, r.status)),
        key=lambda r: (r[column], r.id),
        reverse=direction == "desc",
    )
    assert walk(plan_id, sort=sort, direction=direction, status=status) == [r.id for r in expected]
    # The same rows with a search matching all of them (broad and selective), and the CSV.
    for cap in (10_000, 2):
        db.session.get_bind()

        current_app.config["SEARCH_COUNT_CAP"] = cap
        assert walk(plan_id, sort=sort, direction=direction, status=status, search="exam") == [
            r.id for r in expected
        ]
    current_app.config["SEARCH_COUNT_CAP"] = 10_000
    filters = SubscriberFilter.parse(plan_id, status, "example", sort, direction)
    assert [row.subscription_id for row in iter_subscribers(filters)] == [r.id for r in expected]


def test_an_unknown_sort_or_direction_is_the_default(spread):
    assert walk(sort="bogus", direction="sideways") == walk()
    assert walk() == walk(sort="subscribed", direction="desc")


def test_across_plans_the_total_is_counted_from_the_counters(spread):
    assert subscribers_page(None).total == 20
    assert subscribers_page(None, status="active").total == 10
    assert subscribers_page("free", status="paused").total == 4


def test_a_broad_search_is_counted_only_where_the_filters_hold_few_rows(spread, app):
    """More users match than the cap: the matches are not counted (``uncounted``) unless the
    plan and status hold no more subscriptions than the cap; pages are found all the same."""
    app.config["SEARCH_COUNT_CAP"] = 5
    page = subscribers_page(None, search="example", page_size=3)
    assert (page.capped, page.uncounted, len(page.items)) == (False, True, 3)
    deep = subscribers_page(None, search="example", page_size=3, page=7)  # rows 19-20, past the cap
    assert len(deep.items) == 2 and deep.uncounted
    assert [r.subscription_id for r in page.items] == walk()[:3]
    # Six canceled on pro: more than a cap of 5, not counted; a cap of 6 counts them exactly.
    assert subscribers_page("pro", search="example", status="canceled").uncounted
    app.config["SEARCH_COUNT_CAP"] = 6
    exact = subscribers_page("pro", search="example", status="canceled")
    assert (exact.total, exact.capped, exact.uncounted) == (6, False, False)


@pytest.mark.parametrize(
    ("query", "statements"),
    [
        # SQLite's BEGIN is a statement of its own (billing_admin/sqlite.py); not PostgreSQL's
        (None, 5),  # BEGIN, plan, total, anchor, page
        # A search: its matches found once, numbered, and the page's rows read in one statement.
        ("ann@example.com", 4),  # BEGIN, plan, exact email, page with its total
        ("example", 4),  # BEGIN, plan, users counted, page with its total
        ("BU", 4),  # BEGIN, plan, users counted, page with its total (a prefix)
        ("nobody at all", 3),  # BEGIN, plan, users: none
    ],
)
def test_statement_counts_stay_fixed_as_subscribers_grow(spread, query, statements):
    add_person("ann@example.com", "Ann")
    subscribers_page("pro", search=query)  # warm (PostgreSQL's one-off index check)
    for _ in range(2):
        bulk_subscribers("pro", 30)
        counter = QueryCounter(db.engine)
        with counter:
            subscribers_page("pro", search=query, page=1, page_size=5)
        assert counter.count == statements - (db.engine.dialect.name == "postgresql"), query


def test_search_is_a_prefix_then_an_index_on_sqlite(plans):
    """The plans SQLite picks: FTS for fragments, the b-tree indexes for prefixes and emails."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plans")
    from billing_admin.subscribers.search import UserSearch, matching_users

    def plan_of(query: sa.Select) -> str:
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        return " | ".join(
            row[-1] for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))
        )

    fragment = plan_of(matching_users(UserSearch.parse("abc")))
    assert "VIRTUAL TABLE INDEX" in fragment and "SCAN billing_user_search " not in fragment
    prefix = plan_of(matching_users(UserSearch.parse("ab")))
    assert "ux_billing_user_search_email" in prefix and "ix_billing_user_search_name" in prefix
    assert "SCAN billing_user_search" not in prefix


def test_a_broad_search_runs_no_count(spread, app):
    """Over the cap, with more rows in the plan than the cap, nothing walks the matches to
    count them: BEGIN (SQLite), plan, users, the plan's total from its counters, anchor, page."""
    add_person("ann@example.com", "Ann")
    app.config["SEARCH_COUNT_CAP"] = 3
    subscribers_page("pro", search="example")  # warm (PostgreSQL's one-off index check)
    db.session.commit()
    counter = QueryCounter(db.engine)
    with counter:
        page = subscribers_page("pro", search="example", page=1, page_size=5)
    assert page.uncounted and len(page.items) == 5
    assert counter.count == 6 - (db.engine.dialect.name == "postgresql")
    counts = [s for s in counter.statements if "count(" in s and "billing_subscription" in s]
    assert counts == [], counts  # the users are counted (up to the cap), their rows are not


def test_search_uses_the_search_table_indexes_on_postgresql(plans):
    """The plans PostgreSQL can pick (sequential scans off, as at a million users the planner
    turns to these): the trigram indexes for fragments, the b-trees for emails and prefixes,
    all on billing_user_search, none computing the normalised text again."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's query plans")
    from billing_admin.subscribers.search import UserSearch, matching_users

    add_person("ann@example.com", "Ann")

    def plan_of(query: sa.Select) -> str:
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        return " | ".join(row[0] for row in db.session.execute(sa.text(f"EXPLAIN {compiled}")))

    fragment = plan_of(matching_users(UserSearch.parse("abc")))
    assert "ix_billing_user_search_email_trgm" in fragment, fragment
    assert "ix_billing_user_search_name_trgm" in fragment, fragment
    assert "translate" not in fragment, fragment
    prefix = plan_of(matching_users(UserSearch.parse("ab")))
    assert "ux_billing_user_search_email" in prefix and "ix_billing_user_search_name" in prefix
    email = db.session.execute(
        sa.text("EXPLAIN SELECT user_id FROM billing_user_search WHERE email = 'ann@example.com'")
    ).scalars()
    assert "ux_billing_user_search_email" in " ".join(email)
    db.session.rollback()


def test_a_search_past_its_last_page_still_knows_its_total(spread):
    page = subscribers_page("pro", search="example", status="active", page=99, page_size=3)
    assert (page.items, page.total, page.capped, page.uncounted) == ([], 6, False, False)
    none_here = subscribers_page("pro", search="example", status="paused")  # users, no rows
    assert (none_here.items, none_here.total) == ([], 0)


def test_few_matching_users_are_followed_to_their_subscriptions_on_postgresql(spread):
    """PostgreSQL: the page of a search few users match goes from each matching user to their
    subscriptions (a nested loop), even where the planner would rather hash the users and scan
    the plan's subscriptions (0.8 s at 500,000, docs/benchmarks.md): with nested loops
    discouraged, the users are still looked up one by one, never hashed."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's query plans")
    captured = []

    def capture(connection, cursor, statement, parameters, context, many):
        captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        page = subscribers_page("pro", search="example", page_size=3)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert page.total == 12 and not page.capped
    statement, parameters = captured[-1]
    db.session.rollback()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL enable_nestloop = off")
        plan = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
    hashed = [line for line in plan if "Hash Cond" in line and "billing_user_search" in line]
    assert hashed == [], plan  # the matching users never hashed against subscriptions
    assert any("Nested Loop" in line for line in plan), plan
