"""An export as a download: the same rows as CSV or .xlsx, streamed while they are read."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from flask import Response, stream_with_context

from billing_admin.clock import now_epoch
from billing_admin.exports.cells import Column
from billing_admin.exports.csv_file import csv_chunks
from billing_admin.exports.xlsx_file import xlsx_chunks
from billing_admin.formatting import display_zone

FORMATS = ("csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_response(
    file_format: str, name: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]
) -> Response:
    """A streamed download of ``rows`` as ``<name>-<YYYY-MM-DD>.csv`` or ``.xlsx``
    (``file_format`` one of FORMATS, else ValueError), today's date and every time in the
    admin's time zone. ``rows`` should be lazy (read in batches): it is consumed while the
    response is sent, inside the request's context."""
    zone = display_zone()
    day = datetime.fromtimestamp(now_epoch(), zone).strftime("%Y-%m-%d")
    if file_format == "csv":
        body, mimetype = csv_chunks(columns, rows, zone), "text/csv"
    elif file_format == "xlsx":
        body, mimetype = xlsx_chunks(columns, rows, zone, sheet=name), XLSX_MIMETYPE
    else:
        raise ValueError(f"unknown export format {file_format!r}")
    return Response(
        stream_with_context(body),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}-{day}.{file_format}"'},
    )
