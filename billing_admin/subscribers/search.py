"""Finding users by email or name, through the indexes of models/user_search.py (issue 13).

The rules (docs/subscribers.md, "Search"), on normalised text (``normalise``: Latin and Cyrillic
lower-cased, ``ё`` read as ``е``; ``%``, ``_``, ``\\`` and quotes are ordinary characters):

- A query that is a whole email address (``x@y.z``, no spaces) and is some user's email finds
  that user only (the unique index on the normalised email).
- Otherwise a query of 3 characters or more finds every user whose email or name contains it
  (PostgreSQL: ``pg_trgm`` GIN indexes serving ``LIKE '%q%'``; SQLite: the FTS5 ``trigram``
  table, then the exact substring checked on the normalised text).

Both engines search ``billing_user_search``, a row of normalised text per user kept by
triggers, never the user table itself (models/user_search.py).
- A query of 1 or 2 characters finds every user whose email or name *starts* with it (a range
  on the b-tree indexes of the normalised email and name; trigrams need 3 characters).

Two ways to apply a search to subscriptions, chosen by the caller from how many users match:
``matching_users`` (index-driven: the user ids, then their subscriptions) and ``row_condition``
(row-driven: walk subscriptions in the order shown and test each one's user), which must agree
row for row: tests/test_search.py checks both against a brute-force oracle.
"""

import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import Subscription
from billing_admin.models.user_search import FTS_TABLE, TRIGRAM_INDEXES, USERS_TABLE, normalise

logger = logging.getLogger(__name__)

SEARCH_MAX = 100  # characters kept of a query (the search box's maxlength)
MIN_FRAGMENT = 3  # trigrams: shorter queries are prefixes
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_search_metadata = sa.MetaData()
SEARCH_ROWS = sa.Table(  # one row per user, normalised (models/user_search.py)
    USERS_TABLE,
    _search_metadata,
    sa.Column("id", sa.Integer),  # SQLite only: the full-text index's rowid
    sa.Column("user_id", sa.String(36)),
    sa.Column("email", sa.Text),
    sa.Column("name", sa.Text),
)
_FTS = sa.table(FTS_TABLE, sa.column("rowid"))
_checked_engines: set[int] = set()


@dataclass(frozen=True)
class UserSearch:
    """A checked query: ``text`` as typed (trimmed, at most SEARCH_MAX characters) and its
    ``normalised`` form."""

    text: str
    normalised: str

    @classmethod
    def parse(cls, text: str | None) -> "UserSearch | None":
        """None for an absent or blank query."""
        text = (text or "").strip()[:SEARCH_MAX].strip()
        return cls(text, normalise(text)) if text else None

    @property
    def is_prefix(self) -> bool:
        return len(self.normalised) < MIN_FRAGMENT

    @property
    def may_be_email(self) -> bool:
        return EMAIL_SHAPE.fullmatch(self.normalised) is not None


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _upper_bound(prefix: str) -> str | None:
    """The least string above every string starting with ``prefix`` (code point order, which
    is SQLite's BINARY and PostgreSQL's "C" order of UTF-8); None when there is none (a prefix
    of U+10FFFF only). A trailing U+10FFFF cannot be raised: the character before it is."""
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return None
    last = ord(stem[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates are not characters: skip them
        last = 0xE000
    return stem[:-1] + chr(last)


def _in_range(column, prefix: str):
    upper = _upper_bound(prefix)
    return sa.and_(column >= prefix, column < upper) if upper else column >= prefix


def _email_and_name():
    if _postgresql():
        _warn_once_without_trigrams()
    return SEARCH_ROWS.c.email, SEARCH_ROWS.c.name, SEARCH_ROWS.c.user_id


def exact_email_user(search: UserSearch) -> str | None:
    """The id of the user whose normalised email is exactly the query, if the query looks like
    an email and there is one: one look-up in the unique index."""
    if not search.may_be_email:
        return None
    email, _, user_id = _email_and_name()
    return db.session.scalar(sa.select(user_id).where(email == search.normalised))


def matching_users(search: UserSearch) -> sa.Select:
    """``SELECT user_id`` of every user the query finds (not an exact email), from the
    indexes; unordered. Add a LIMIT to bound it: on SQLite the rows stream from the full-text
    index (joined, not ``IN (...)``, which would collect every match first)."""
    email, name, user_id = _email_and_name()
    query = search.normalised
    if search.is_prefix:
        return sa.union(
            sa.select(user_id).where(_in_range(email, query)),
            sa.select(user_id).where(_in_range(name, query)),
        )
    if _postgresql():
        pattern = _like_pattern(query)
        return sa.select(user_id).where(
            sa.or_(email.like(pattern, escape="\\"), name.like(pattern, escape="\\"))
        )
    phrase = '"' + query.replace('"', '""') + '"'  # FTS5: one phrase, every character literal
    return (
        sa.select(user_id)
        .select_from(_FTS.join(SEARCH_ROWS, SEARCH_ROWS.c.id == _FTS.c.rowid))
        .where(
            sa.literal_column(FTS_TABLE).op("MATCH")(phrase),
            sa.or_(sa.func.instr(email, query) > 0, sa.func.instr(name, query) > 0),
        )
    )


def row_condition(search: UserSearch, exact_user: str | None) -> tuple[list, sa.Table | None]:
    """The same match tested on each subscription's own user: (conditions, table to join
    on ``billing_subscription.user_id``; None when the conditions need no join)."""
    if exact_user is not None:
        return [Subscription.user_id == exact_user], None
    email, name, _ = _email_and_name()
    query = search.normalised
    if search.is_prefix:
        size = len(query)
        condition = sa.or_(
            sa.func.substr(email, 1, size) == query, sa.func.substr(name, 1, size) == query
        )
    else:
        contains = sa.func.strpos if _postgresql() else sa.func.instr
        condition = sa.or_(contains(email, query) > 0, contains(name, query) > 0)
    return [condition], SEARCH_ROWS


def join_on_user(query: sa.Select, table: sa.Table | None) -> sa.Select:
    """``query`` joined with what ``row_condition`` needs."""
    if table is None:
        return query
    return query.join(table, table.c.user_id == Subscription.user_id)


def _warn_once_without_trigrams() -> None:
    engine = db.session.get_bind()
    if id(engine) in _checked_engines:
        return
    _checked_engines.add(id(engine))
    present = db.session.scalar(
        # to_regclass follows search_path: this schema's indexes, not another's.
        sa.text("SELECT count(to_regclass(name)) FROM unnest(CAST(:names AS text[])) AS name"),
        {"names": list(TRIGRAM_INDEXES)},
    )
    if (present or 0) < len(TRIGRAM_INDEXES):
        logger.warning(
            "Search by email or name has no trigram indexes (pg_trgm is not installed or "
            "migration 0012 could not create them): substring searches scan every user. "
            "Install pg_trgm, then undo migration 0012 and run it again."
        )
