"""A table as CSV that Excel opens as it should, in any language's Excel.

- A UTF-8 byte-order mark first: without it Excel on Russian Windows reads the file as
  Windows-1251 and shows "РђРЅРЅР°" for "Анна".
- Every field quoted (``csv.QUOTE_ALL``), rows ended by CRLF (RFC 4180).
- Text neutralised (cells.py), times ISO 8601 with the admin zone's offset.

Written as it is read: the header first, then rows in batches of ``ROWS_PER_CHUNK``, so memory
does not grow with the number of rows.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import tzinfo
from typing import Any

from billing_admin.exports.cells import Column, csv_value

BYTE_ORDER_MARK = "\ufeff"
ROWS_PER_CHUNK = 500


def csv_chunks(
    columns: Sequence[Column], rows: Iterable[Sequence[Any]], zone: tzinfo
) -> Iterator[str]:
    """The file in pieces: the byte-order mark and header row, then up to ``ROWS_PER_CHUNK``
    rows a piece. ``rows`` hold one value per column, as ``Column.kind`` says."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(column.header for column in columns)
    yield BYTE_ORDER_MARK + flush()
    kinds = [column.kind for column in columns]
    pending = 0
    for row in rows:
        writer.writerow(
            csv_value(value, kind, zone) for value, kind in zip(row, kinds, strict=True)
        )
        pending += 1
        if pending == ROWS_PER_CHUNK:
            yield flush()
            pending = 0
    if pending:
        yield flush()
