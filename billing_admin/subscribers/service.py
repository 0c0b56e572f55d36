"""Subscribers, of one plan or of every plan: counts, and one page at a time, fast at any depth.

One function, ``subscribers_page``, serves the HTML tables (a plan's, and /admin/subscribers
across plans), the JSON API and (page by page) the CSV export. How a page is found, for a plan
with 500,000 subscribers:

- Without a search, the total comes from ``billing_plan_subscription_count`` (kept exact by
  triggers), not from counting rows.
- ``OFFSET 450000`` would walk 450,000 rows. Instead the page's first row is found with an
  index-only scan of ``([plan_id,] [status,] <sort column>, id)`` from whichever end of the list
  is nearer (so the last page is as cheap as the first), and the page is then read by key
  (``(<sort column>, id) <= anchor``), joined with its users in the same query.
- Order: by subscribed date (``created_at``) or end of the current period, newest first unless
  asked otherwise, the id breaking ties, so no row is on two pages and none is missed. Foreign
  keys mean every subscription has its user, so items and total agree.
- With a search (subscribers/search.py), the matching users come from the search indexes,
  at most ``SEARCH_COUNT_CAP`` + 1 of them, counted. If that many or fewer match, the page and
  the total are taken from their subscriptions (``user_id IN (<the search>)``), counted with
  ``LIMIT SEARCH_COUNT_CAP + 1``: exact up to the cap, else "more than 10,000" (``Page.capped``).
- If more users match (a broad query such as "a"), the subscriptions are walked in the order
  shown and each one's user is tested, which finds a page quickly because matches are dense.
  Counting them would not be quick: proving "more than 10,000" means finding 10,001 matches,
  tens of thousands of look-ups when a plan or status filters them (50–590 ms at a million
  subscriptions, docs/benchmarks.md, issue 13). So the matches are counted only when the plan
  and status hold no more than the cap (their count is kept by triggers: a bounded walk);
  otherwise the total is not counted (``Page.uncounted``: the page says that more than 10,000
  people match, and why there is no total). Pages are then found from the first row onwards.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from billing_admin.extensions import db
from billing_admin.models import (
    SUBSCRIPTION_STATUSES,
    Plan,
    PlanSubscriptionCount,
    Subscription,
    User,
)
from billing_admin.pagination import Page, normalise_paging
from billing_admin.plans.errors import PlanNotFound
from billing_admin.sqlite import small_cache
from billing_admin.subscribers.search import (
    UserSearch,
    exact_email_user,
    join_on_user,
    matching_users,
    row_condition,
)

SEARCH_COUNT_CAP = 10_000  # default of the config key of the same name
# The original system's PlanSubscriberModel: the JSON item, its OpenAPI schema and the CSV
# columns all follow this list.
API_FIELDS = (
    "user_id",
    "email",
    "name",
    "subscription_status",
    "subscribed_at",
    "current_period_end",
)
EXPORT_BATCH = 1_000
SORTS = {"subscribed": Subscription.created_at, "period_end": Subscription.current_period_end}
DIRECTIONS = ("desc", "asc")
DEFAULT_SORT, DEFAULT_DIRECTION = "subscribed", "desc"


class UnknownStatus(ValueError):
    def __init__(self, status: str):
        super().__init__(
            f"Invalid status '{status}'. Valid statuses: {', '.join(SUBSCRIPTION_STATUSES)}"
        )


@dataclass(frozen=True)
class SubscriberRow:
    subscription_id: str
    user_id: str
    email: str
    name: str
    status: str
    subscribed_at: int
    current_period_end: int
    cancel_at_period_end: bool
    plan_id: str

    def as_api(self) -> dict[str, Any]:
        """The original system's ``PlanSubscriberModel``."""
        return {
            "user_id": self.user_id,
            "email": self.email,
            "name": self.name,
            "subscription_status": self.status,
            "subscribed_at": self.subscribed_at,
            "current_period_end": self.current_period_end,
        }


@dataclass(frozen=True)
class SubscriberFilter:
    """Which subscriptions, in which order. ``plan_id`` None: every plan."""

    plan_id: str | None
    status: str | None = None
    search: UserSearch | None = None
    sort: str = DEFAULT_SORT
    direction: str = DEFAULT_DIRECTION

    @classmethod
    def parse(
        cls,
        plan_id: str | None,
        status: str | None,
        search: str | None,
        sort: str | None = None,
        direction: str | None = None,
    ) -> "SubscriberFilter":
        """Checked filters; an unknown status raises UnknownStatus. An unknown or absent sort
        or direction is the default (newest subscribed first), as pages treat nonsense."""
        status = status or None  # absent or empty: every status
        if status is not None and status not in SUBSCRIPTION_STATUSES:
            raise UnknownStatus(status)
        sort = sort if sort in SORTS else DEFAULT_SORT
        direction = direction if direction in DIRECTIONS else DEFAULT_DIRECTION
        return cls(plan_id, status, UserSearch.parse(search), sort, direction)

    def where(self) -> list[Any]:
        """Plan and status conditions (the search is applied by the caller's strategy)."""
        conditions = []
        if self.plan_id is not None:
            conditions.append(Subscription.plan_id == self.plan_id)
        if self.status:
            conditions.append(Subscription.status == self.status)
        return conditions

    @property
    def sort_column(self):
        return SORTS[self.sort]

    def order(self, reverse: bool = False) -> tuple:
        """ORDER BY of the list as shown (or reversed)."""
        ascending = (self.direction == "asc") != reverse
        columns = (self.sort_column, Subscription.id)
        return tuple(c.asc() if ascending else c.desc() for c in columns)

    def after(self, key: tuple, reverse: bool = False, inclusive: bool = False):
        """Rows after ``key`` in the list's order (or reversed)."""
        ascending = (self.direction == "asc") != reverse
        row = sa.tuple_(self.sort_column, Subscription.id)
        if ascending:
            return row >= key if inclusive else row > key
        return row <= key if inclusive else row < key


ROW_COLUMNS = (
    Subscription.id,
    Subscription.user_id,
    User.email,
    User.name,
    Subscription.status,
    Subscription.created_at,
    Subscription.current_period_end,
    Subscription.cancel_at_period_end,
    Subscription.plan_id,
)


def _rows(query) -> list[SubscriberRow]:
    return [SubscriberRow(*row) for row in db.session.execute(query)]


def plan_choices() -> list[Plan]:
    """Every plan, in the plan list's order, for the plan filter."""
    return list(db.session.scalars(sa.select(Plan).order_by(Plan.display_order, Plan.id)))


def count_cap() -> int:
    """Above this many matches a search's total is "more than" it (config SEARCH_COUNT_CAP)."""
    return int(current_app.config.get("SEARCH_COUNT_CAP", SEARCH_COUNT_CAP))


@dataclass(frozen=True)
class _Matches:
    """How a filter's rows are found: extra conditions on billing_subscription and the table
    they need joined (None: no join)."""

    conditions: list[Any]
    joined: Any = None
    # A broad search: more users match than the count cap.
    broad: bool = False
    # Few users match: the search's ``SELECT user_id`` (``conditions`` test membership in it).
    users: sa.Select | None = None


def _matches(filters: SubscriberFilter) -> _Matches | None:
    """None when nothing can match (a search that finds no user). One or two statements."""
    search = filters.search
    if search is None:
        return _Matches([])
    exact = exact_email_user(search)
    if exact is not None:
        return _Matches([Subscription.user_id == exact])
    cap = count_cap()
    users = matching_users(search)
    # Counted in the database: fetching up to 10,001 ids into Python made the worker's garbage
    # collector walk its whole heap every few requests (0.1 s pauses, docs/benchmarks.md).
    found = db.session.scalar(
        sa.select(sa.func.count()).select_from(users.limit(cap + 1).subquery())
    )
    if not found:
        return None
    if found <= cap:
        return _Matches([Subscription.user_id.in_(users)], users=users)
    conditions, joined = row_condition(search, None)
    return _Matches(conditions, joined, broad=True)


def subscribers_page(
    plan_id: str | None,
    *,
    page: Any = None,
    page_size: Any = None,
    status: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    direction: str | None = None,
) -> Page[SubscriberRow]:
    """One page of a plan's subscribers (``plan_id`` None: of every plan), newest subscribed
    first unless ``sort`` ("subscribed", "period_end") and ``direction`` ("desc", "asc") say
    otherwise. Paging values, sort and direction are normalised (never an error); an unknown
    plan raises PlanNotFound and an unknown status UnknownStatus. ``Page.capped``: a search
    matched more than ``count_cap()`` rows, and ``total`` is that cap. ``Page.uncounted``: more
    than ``count_cap()`` users match and the plan and status hold more subscriptions than the
    cap, so the matches were not counted (``total`` is the cap, a bound for page links only)."""
    page, page_size = normalise_paging(page, page_size)
    filters = SubscriberFilter.parse(plan_id, status, search, sort, direction)
    if plan_id is not None and db.session.get(Plan, plan_id) is None:
        raise PlanNotFound(plan_id)
    offset = (page - 1) * page_size
    if filters.search is None:
        total = _counted_total(filters)
        items = (
            _page_rows(filters, _Matches([]), offset, page_size, total) if offset < total else []
        )
        return Page(items=items, total=total, page=page, page_size=page_size)
    matches = _matches(filters)
    if matches is None:
        return Page(items=[], total=0, page=page, page_size=page_size)
    cap = count_cap()
    if matches.broad and _counted_total(filters) > cap:
        items = _page_rows(filters, matches, offset, page_size, None)
        return Page(items, cap, page, page_size, uncounted=True)
    found = _matching_page(filters, matches, cap, offset, page_size)
    if found is None:  # more than the cap: "more than 10,000", pages found from the first row
        items = _page_rows(filters, matches, offset, page_size, None)
        return Page(items, cap, page, page_size, capped=True)
    items, total = found
    return Page(items, total, page, page_size)


def _matching_page(
    filters: SubscriberFilter, matches: _Matches, cap: int, offset: int, size: int
) -> tuple[list[SubscriberRow], int] | None:
    """(the page's rows, the number of matches), or None when more than ``cap`` match. One
    statement finds each match once, numbers them and reads the page's rows: counting, then
    finding the page's anchor, then reading the page had each found the matches again (20 ms
    each on PostgreSQL for 4,000 matching users, docs/benchmarks.md). The LIMIT is inside,
    without an order, so the database collects the matches the cheapest way (from the
    matching users) and sorts only those; the database sorts, so ties break as on every
    other page."""
    keys = sa.select(filters.sort_column.label("sort"), Subscription.id.label("id"))
    if matches.users is not None and db.session.get_bind().dialect.name == "postgresql":
        # From each matching user to their subscriptions by the user_id index. Left to
        # itself PostgreSQL may hash the matching users and scan every subscription of the
        # plan instead (0.8 s at 500,000); OFFSET 0 keeps the per-user look-up a look-up.
        users = matches.users.subquery()
        per_user = (
            keys.where(Subscription.user_id == users.c[0], *filters.where()).offset(0).lateral()
        )
        matching = (
            sa.select(per_user.c.sort, per_user.c.id)
            .select_from(users)
            .join(per_user, sa.true())
            .limit(cap + 1)
            .subquery()
        )
    else:
        matching = (
            join_on_user(keys, matches.joined)
            .where(*filters.where(), *matches.conditions)
            .limit(cap + 1)
            .subquery()
        )
    ascending = filters.direction == "asc"
    order = [c.asc() if ascending else c.desc() for c in (matching.c.sort, matching.c.id)]
    numbered = (
        sa.select(matching.c.id, sa.func.count().over().label("total"))
        .order_by(*order)
        .offset(offset)
        .limit(size)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(*ROW_COLUMNS, numbered.c.total)
        .select_from(numbered)
        .join(Subscription, Subscription.id == numbered.c.id)
        .join(User, User.id == Subscription.user_id)
        .order_by(*filters.order())
    ).all()
    if rows:
        total = rows[0][-1]
    else:  # past the last page (or no match): the number alone
        total = db.session.scalar(sa.select(sa.func.count()).select_from(matching)) or 0
    items = [SubscriberRow(*row[:-1]) for row in rows]
    return None if total > cap else (items, total)


@dataclass(frozen=True)
class KeysetPage:
    """Rows after a key (a cursor): ``more`` says whether any row follows the last one."""

    items: list[SubscriberRow]
    total: int
    page_size: int
    more: bool

    @property
    def last_key(self) -> tuple[int, str] | None:
        last = self.items[-1] if self.items else None
        return (last.subscribed_at, last.subscription_id) if last else None


def subscribers_after(
    plan_id: str,
    after: tuple[int, str] | None,
    *,
    page_size: Any = None,
    status: str | None = None,
) -> KeysetPage:
    """Up to ``page_size`` subscribers older than the key ``after`` = (created_at, id), newest
    first (from the newest when ``after`` is None): the API's cursor walk.

    Each row is found by its own key, never by its position, so rows added since (newer than
    every key already passed) or leaving the filter (a cancellation) shift nothing: a walk sees
    every row that matched throughout exactly once. One index range scan of ``size + 1`` keys
    (the extra one says whether more follow), plus the total from the counts table. Raises
    PlanNotFound and UnknownStatus as ``subscribers_page``."""
    _, size = normalise_paging(1, page_size)
    filters = SubscriberFilter.parse(plan_id, status, None)
    if db.session.get(Plan, plan_id) is None:
        raise PlanNotFound(plan_id)
    key = sa.tuple_(Subscription.created_at, Subscription.id)
    query = (
        sa.select(*ROW_COLUMNS)
        .join(User, User.id == Subscription.user_id)
        .where(*filters.where())
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
        .limit(size + 1)
    )
    if after is not None:
        query = query.where(key < tuple(after))
    rows = _rows(query)
    return KeysetPage(rows[:size], _counted_total(filters), size, len(rows) > size)


def _counted_total(filters: SubscriberFilter) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(PlanSubscriptionCount.count), 0))
    if filters.plan_id is not None:
        query = query.where(PlanSubscriptionCount.plan_id == filters.plan_id)
    if filters.status:
        query = query.where(PlanSubscriptionCount.status == filters.status)
    return int(db.session.scalar(query) or 0)


def _keys(filters: SubscriberFilter, matches: _Matches):
    query = sa.select(filters.sort_column, Subscription.id).where(
        *filters.where(), *matches.conditions
    )
    return join_on_user(query, matches.joined)


def _page_rows(
    filters: SubscriberFilter, matches: _Matches, offset: int, size: int, total: int | None
) -> list[SubscriberRow]:
    """The page at ``offset`` (none past ``total``); ``total`` None (unknown beyond the cap):
    found from the first row onwards."""
    if total is not None and offset >= total:
        return []
    base = join_on_user(
        sa.select(*ROW_COLUMNS).join(User, User.id == Subscription.user_id), matches.joined
    ).where(*filters.where(), *matches.conditions)
    after_page = None if total is None else total - offset - size  # rows after this page
    if after_page is None or offset <= after_page:
        # Nearer the start: skip `offset` keys from there, then read the page by key.
        anchor = db.session.execute(
            _keys(filters, matches).order_by(*filters.order()).offset(offset).limit(1)
        ).one_or_none()
        if anchor is None:
            return []
        query = base.where(filters.after(tuple(anchor), inclusive=True))
        return _rows(query.order_by(*filters.order()).limit(size))
    # Nearer the end: skip from there to the page's last row, read backwards, reverse.
    skip = max(0, after_page)
    anchor = db.session.execute(
        _keys(filters, matches).order_by(*filters.order(reverse=True)).offset(skip).limit(1)
    ).one()
    query = base.where(filters.after(tuple(anchor), reverse=True, inclusive=True))
    rows = _rows(query.order_by(*filters.order(reverse=True)).limit(size + min(0, after_page)))
    return rows[::-1]


def iter_subscribers(filters: SubscriberFilter) -> Iterator[SubscriberRow]:
    """Every subscriber matching the filters, in the list's order, read in batches by key:
    memory stays constant whatever the plan's size (used by the CSV and .xlsx exports). On
    SQLite the walk's connection uses a small page cache (sqlite.small_cache), which the rows
    it reads once would otherwise fill: docs/benchmarks.md, "Exports (issue 16)"."""
    with small_cache(db.session.connection()):
        yield from _walk_subscribers(filters)


def _walk_subscribers(filters: SubscriberFilter) -> Iterator[SubscriberRow]:
    matches = _matches(filters)
    if matches is None:
        return
    query = (
        join_on_user(
            sa.select(*ROW_COLUMNS).join(User, User.id == Subscription.user_id), matches.joined
        )
        .where(*filters.where(), *matches.conditions)
        .order_by(*filters.order())
        .limit(EXPORT_BATCH)
    )
    last = None
    while True:
        batch = _rows(query if last is None else query.where(filters.after(last)))
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        end = batch[-1]
        sort_value = end.subscribed_at if filters.sort == "subscribed" else end.current_period_end
        last = (sort_value, end.subscription_id)
