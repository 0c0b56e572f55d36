import pytest

from billing_admin.pagination import MAX_PAGE, Page, normalise_paging, page_window


@pytest.mark.parametrize(
    ("page", "page_size", "expected"),
    [
        (None, None, (1, 20)),
        ("3", "50", (3, 50)),
        (0, 0, (1, 20)),
        (-1, -1, (1, 20)),
        (101, 101, (101, 100)),
        (10**9, 10**9, (10**9, 100)),
        (10**12, 5, (MAX_PAGE, 5)),
        ("abc", "abc", (1, 20)),
        ("", "", (1, 20)),
        ("1.5", "1.5", (1, 20)),
        (" 2 ", " 30 ", (2, 30)),
        ("٣", "٣", (1, 20)),  # digits of other scripts are not page numbers
        (True, True, (1, 20)),
        ([1], {"a": 1}, (1, 20)),
    ],
)
def test_normalise_paging(page, page_size, expected):
    assert normalise_paging(page, page_size) == expected


@pytest.mark.parametrize(
    ("page", "total_pages", "window"),
    [
        (1, 1, [1]),
        (1, 5, [1, 2, 3, 4, 5]),
        (10, 20, [1, None, 8, 9, 10, 11, 12, None, 20]),
        (1, 20, [1, 2, 3, None, 20]),
        (20, 20, [1, None, 18, 19, 20]),
        (4, 20, [1, 2, 3, 4, 5, 6, None, 20]),  # a gap of one page shows the page instead
    ],
)
def test_page_window(page, total_pages, window):
    assert page_window(page, total_pages) == window


def test_page_arithmetic():
    page = Page(items=list(range(20)), total=12_345, page=3, page_size=20)
    assert (page.total_pages, page.first_index, page.last_index) == (618, 41, 60)
    assert page.has_previous and page.has_next
    empty = Page(items=[], total=0, page=1, page_size=20)
    assert (empty.total_pages, empty.first_index, empty.last_index) == (1, 0, 0)
    past = Page(items=[], total=5, page=9, page_size=20)
    assert (past.total_pages, past.has_next) == (1, False)
