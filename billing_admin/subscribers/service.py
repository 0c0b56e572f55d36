"""A plan's subscribers: counts, and one page at a time, fast at any depth.

One function, ``subscribers_page``, serves the HTML table, the JSON API and (page by page) the
CSV export. How a page is found, for a plan with 500,000 subscribers:

- The total comes from ``billing_plan_subscription_count`` (kept exact by triggers), not from
  counting rows. A text search has no such counter and counts the matching rows.
- ``OFFSET 450000`` would walk 450,000 rows. Instead the page's first row is found with an
  index-only scan of ``(plan_id[, status], created_at, id)`` from whichever end of the list is
  nearer (so the last page is as cheap as the first), and the page is then read by key
  (``(created_at, id) <= anchor``), joined with its users in the same query.
- Order: newest subscription first, the id breaking ties, so no row is on two pages and none is
  missed. Foreign keys mean every subscription has its user, so items and total agree.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

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

SEARCH_MAX = 100
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
    plan_id: str
    status: str | None = None
    search: str | None = None

    @classmethod
    def parse(cls, plan_id: str, status: str | None, search: str | None) -> "SubscriberFilter":
        """Checked filters; an unknown status raises UnknownStatus."""
        status = status or None  # absent or empty: every status
        if status is not None and status not in SUBSCRIPTION_STATUSES:
            raise UnknownStatus(status)
        search = (search or "").strip()[:SEARCH_MAX] or None
        return cls(plan_id, status, search)

    def where(self) -> list[Any]:
        conditions = [Subscription.plan_id == self.plan_id]
        if self.status:
            conditions.append(Subscription.status == self.status)
        if self.search:
            conditions.append(
                sa.or_(
                    User.email.icontains(self.search, autoescape=True),
                    User.name.icontains(self.search, autoescape=True),
                )
            )
        return conditions


ROW_COLUMNS = (
    Subscription.id,
    Subscription.user_id,
    User.email,
    User.name,
    Subscription.status,
    Subscription.created_at,
    Subscription.current_period_end,
    Subscription.cancel_at_period_end,
)


def _rows(query) -> list[SubscriberRow]:
    return [SubscriberRow(*row) for row in db.session.execute(query)]


def subscribers_page(
    plan_id: str,
    *,
    page: Any = None,
    page_size: Any = None,
    status: str | None = None,
    search: str | None = None,
) -> Page[SubscriberRow]:
    """One page of a plan's subscribers, newest first. Paging values are normalised (never an
    error); an unknown plan raises PlanNotFound and an unknown status UnknownStatus."""
    page, page_size = normalise_paging(page, page_size)
    filters = SubscriberFilter.parse(plan_id, status, search)
    if db.session.get(Plan, plan_id) is None:
        raise PlanNotFound(plan_id)
    total = count_subscribers(filters)
    offset = (page - 1) * page_size
    items = _page_rows(filters, offset, page_size, total) if offset < total else []
    return Page(items=items, total=total, page=page, page_size=page_size)


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
    return KeysetPage(rows[:size], count_subscribers(filters), size, len(rows) > size)


def count_subscribers(filters: SubscriberFilter) -> int:
    if filters.search:
        query = (
            sa.select(sa.func.count())
            .select_from(Subscription)
            .join(User, User.id == Subscription.user_id)
            .where(*filters.where())
        )
        return db.session.scalar(query) or 0
    query = sa.select(sa.func.coalesce(sa.func.sum(PlanSubscriptionCount.count), 0)).where(
        PlanSubscriptionCount.plan_id == filters.plan_id
    )
    if filters.status:
        query = query.where(PlanSubscriptionCount.status == filters.status)
    return int(db.session.scalar(query) or 0)


def _keys(filters: SubscriberFilter):
    query = sa.select(Subscription.created_at, Subscription.id).where(*filters.where())
    if filters.search:
        query = query.join(User, User.id == Subscription.user_id)
    return query


def _page_rows(
    filters: SubscriberFilter, offset: int, size: int, total: int
) -> list[SubscriberRow]:
    key = sa.tuple_(Subscription.created_at, Subscription.id)
    newest_first = (Subscription.created_at.desc(), Subscription.id.desc())
    oldest_first = (Subscription.created_at.asc(), Subscription.id.asc())
    base = (
        sa.select(*ROW_COLUMNS).join(User, User.id == Subscription.user_id).where(*filters.where())
    )
    after_page = total - offset - size  # rows older than this page
    if offset <= after_page:
        # Nearer the newest end: skip `offset` keys from there, then read the page by key.
        anchor = db.session.execute(
            _keys(filters).order_by(*newest_first).offset(offset).limit(1)
        ).one()
        return _rows(base.where(key <= tuple(anchor)).order_by(*newest_first).limit(size))
    # Nearer the oldest end: skip from there to the page's oldest row, read upwards, reverse.
    skip = max(0, after_page)
    anchor = db.session.execute(_keys(filters).order_by(*oldest_first).offset(skip).limit(1)).one()
    rows = _rows(
        base.where(key >= tuple(anchor)).order_by(*oldest_first).limit(size + min(0, after_page))
    )
    return rows[::-1]


def iter_subscribers(filters: SubscriberFilter) -> Iterator[SubscriberRow]:
    """Every subscriber matching the filters, newest first, read in batches by key: memory stays
    constant whatever the plan's size (used by the CSV export)."""
    key = sa.tuple_(Subscription.created_at, Subscription.id)
    query = (
        sa.select(*ROW_COLUMNS)
        .join(User, User.id == Subscription.user_id)
        .where(*filters.where())
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
        .limit(EXPORT_BATCH)
    )
    last = None
    while True:
        batch = _rows(query if last is None else query.where(key < last))
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        last = (batch[-1].subscribed_at, batch[-1].subscription_id)
