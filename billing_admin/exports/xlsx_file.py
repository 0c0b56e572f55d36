"""A table as an .xlsx workbook, in constant memory, that no spreadsheet evaluates.

- XlsxWriter's ``constant_memory`` mode: each row goes to a temporary file once the next one
  starts, so memory stays flat whatever the number of rows; the workbook is zipped into a
  temporary file on close, and that file is sent in pieces (then removed).
- Text cells are written with ``write_string``: stored as text, never read as a formula, a
  number or a link, whatever they start with (no apostrophe needed, the value is kept as is).
- Times are real Excel dates (``yyyy-mm-dd hh:mm:ss``), the admin's wall-clock time: Excel
  dates have no zone, so the header of each time column names it ("subscribed_at
  (Europe/Moscow)").
- A sheet holds at most 1,048,576 rows: rows past that are left out and a second sheet,
  "truncated", says how many (the CSV has them all).
"""

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import tzinfo
from decimal import Decimal
from typing import Any

import xlsxwriter

from billing_admin.exports.cells import Column, local_time, zone_name

MAX_ROWS = 1_048_576  # Excel's limit, the header row included
READ_SIZE = 64 * 1024
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
WIDTHS = {"text": 24, "time": 20, "number": 12, "bool": 8}


def xlsx_chunks(
    columns: Sequence[Column], rows: Iterable[Sequence[Any]], zone: tzinfo, sheet: str = "export"
) -> Iterator[bytes]:
    """The workbook's bytes in pieces of ``READ_SIZE``. The first piece comes once every row
    is written (a zip's directory is at its end); nothing is kept in memory meanwhile."""
    with tempfile.TemporaryDirectory(prefix="billing-admin-xlsx-") as folder:
        path = f"{folder}/export.xlsx"
        _write(path, folder, columns, rows, zone, sheet)
        with open(path, "rb") as handle:
            while piece := handle.read(READ_SIZE):
                yield piece


def _write(path, folder, columns, rows, zone, sheet_name) -> None:
    workbook = xlsxwriter.Workbook(
        path,
        {
            "constant_memory": True,
            "tmpdir": folder,
            # Belt and braces: write_string never converts, but nothing else should either.
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    try:
        sheet = workbook.add_worksheet(sheet_name[:31])
        dates = workbook.add_format({"num_format": DATE_FORMAT})
        bold = workbook.add_format({"bold": True})
        zone_label = zone_name(zone)
        for index, column in enumerate(columns):
            sheet.set_column(index, index, WIDTHS[column.kind])
            header = f"{column.header} ({zone_label})" if column.kind == "time" else column.header
            sheet.write_string(0, index, header, bold)
        sheet.freeze_panes(1, 0)
        kinds = [column.kind for column in columns]
        written = left_out = 0
        for row in rows:
            if written + 1 >= MAX_ROWS:
                left_out += 1
                continue
            written += 1
            for index, (value, kind) in enumerate(zip(row, kinds, strict=True)):
                _cell(sheet, written, index, value, kind, zone, dates)
        if left_out:
            note = workbook.add_worksheet("truncated")
            note.write_string(
                0, 0, f"{left_out} more rows did not fit in one sheet: export as CSV for them."
            )
    finally:
        workbook.close()


def _cell(sheet, row: int, col: int, value: Any, kind: str, zone: tzinfo, dates) -> None:
    if value is None:
        return
    if kind == "time":
        sheet.write_datetime(row, col, local_time(int(value), zone), dates)
    elif kind == "bool":
        sheet.write_boolean(row, col, bool(value))
    elif kind == "number":
        sheet.write_number(row, col, float(value) if isinstance(value, Decimal) else value)
    else:
        sheet.write_string(row, col, str(value))
