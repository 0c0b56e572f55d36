"""Paging shared by every paginated table and the JSON API: one normaliser, one page shape.

Normalisation follows the original system: page < 1 → 1; page_size < 1 → the default;
page_size above the maximum → the maximum; and (our addition) anything that is not a whole
number → the default. Nonsense never becomes an error or a 500.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from billing_admin.parsing import whole_number

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
PAGE_SIZE_CHOICES = (20, 50, 100)
MAX_PAGE = 10**9  # beyond any real table; keeps OFFSET arithmetic within 64 bits


def normalise_paging(
    page: Any,
    page_size: Any,
    *,
    default_page_size: int = DEFAULT_PAGE_SIZE,
    max_page_size: int = MAX_PAGE_SIZE,
) -> tuple[int, int]:
    number = whole_number(page)
    number = 1 if number is None or number < 1 else min(number, MAX_PAGE)
    size = whole_number(page_size)
    if size is None or size < 1:
        size = default_page_size
    return number, min(size, max_page_size)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    page_size: int
    # ``total`` is a cap, not a count: there are more (a broad search, subscribers/service.py).
    capped: bool = False
    # Not counted at all (a very broad search): ``total`` only bounds the page links.
    uncounted: bool = False

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def first_index(self) -> int:
        """1-based position of the first item shown ("Showing 41–60 of 12,345"); 0 if none."""
        return self.offset + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.offset + len(self.items) if self.items else 0

    @property
    def counted(self) -> bool:
        """``total`` is the exact number of items (not a cap, not a bound of page links)."""
        return not (self.capped or self.uncounted)

    @property
    def past_the_end(self) -> bool:
        """A page number beyond the last page of a non-empty, counted list. An empty page of
        a capped or uncounted one knows no last page, so it names none (issue 13)."""
        return not self.items and self.total > 0 and self.counted

    @property
    def after_the_rows(self) -> bool:
        """An empty page after the first of a list that has rows: past the end of a counted
        list, or past the rows of a capped or uncounted one (whose last page is not known)."""
        return not self.items and self.page > 1 and self.total > 0

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        if not self.counted:  # a full page may have a next one
            return len(self.items) == self.page_size
        return self.page < self.total_pages


def page_window(page: int, total_pages: int, radius: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last, and ``radius`` either side of ``page``;
    ``None`` marks a gap. E.g. page 10 of 20 → [1, None, 8, 9, 10, 11, 12, None, 20]."""
    shown = {1, total_pages, *range(page - radius, page + radius + 1)}
    numbers = sorted(n for n in shown if 1 <= n <= total_pages)
    window: list[int | None] = []
    for number in numbers:
        if window and number - window[-1] > 1:  # type: ignore[operator]
            window.append(None if number - window[-1] > 2 else number - 1)  # type: ignore[operator]
        window.append(number)
    return window
