"""What the API's writes ask of a request beyond its body's meaning (issue 14).

- **JSON only**: a write with a body must say ``Content-Type: application/json`` (415 otherwise)
  and be one JSON value (400 when it does not parse). A write without a body (toggle, delete,
  duplicate) may send none.
- **Size**: at most ``API_MAX_BODY_BYTES`` (64 KiB): a plan is a few KiB at most. 413 otherwise,
  read no further than the limit (``Content-Length`` first, then the stream itself).
- **ETag / If-Match**: every plan and subscription answer carries a strong ETag made from the
  row's version (``"v7"``). ``If-Match`` on PUT, PATCH and DELETE is optional; when sent, it must
  name the current version (or be ``*``), else 412 with the current representation.
"""

import json
import re
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

ETAG_PATTERN = re.compile(r'^(?:W/)?"v(\d{1,18})"$')
NO_BODY = object()


def etag_of(version: int) -> str:
    """The strong ETag of a row at ``version``: ``"v7"``."""
    return f'"v{version}"'


def max_body_bytes() -> int:
    return current_app.config["API_MAX_BODY_BYTES"]


def _too_large() -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        f"The request body is larger than {max_body_bytes() // 1024} KiB, the API's limit."
    )


def raw_body() -> bytes:
    """The body, refused with 413 past the API's limit (before reading it when the client
    says its length)."""
    limit = max_body_bytes()
    if request.content_length is not None and request.content_length > limit:
        raise _too_large()
    request.max_content_length = limit  # a chunked body is cut off at the limit: 413
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large() from None


def json_body(*, required: bool) -> Any:
    """The request's JSON value, or NO_BODY when there is none and none is required.

    Raises UnsupportedMediaType (415) for a body that is not declared JSON, BadRequest (400)
    for JSON that does not parse (or is not UTF-8), RequestEntityTooLarge (413)."""
    data = raw_body()
    if not data and not required:
        return NO_BODY
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as JSON, with 'Content-Type: application/json'.")
    try:
        return json.loads(data.decode("utf-8"), parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"The body is not valid JSON: {_short(exc)}") from None


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} is too large")
    return value


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]


def canonical_json(value: Any) -> str:
    """One text for equal JSON values (key order and spacing do not matter)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class PreconditionFailed(Exception):
    """If-Match names no version that is the current one."""


def if_match_versions() -> frozenset[int] | None:
    """The versions ``If-Match`` accepts, or None when there is no precondition (no header, or
    ``*``). A tag that is not one of ours (or a weak one: If-Match compares strongly) matches
    nothing, so such a header can only fail."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for tag in header.split(","):
        match = ETAG_PATTERN.match(tag.strip())
        if match and not tag.strip().startswith("W/"):
            versions.add(int(match.group(1)))
    return frozenset(versions)


def check_if_match(current: int) -> int | None:
    """The version a write must find (None: no precondition, last writer wins).

    Raises PreconditionFailed when If-Match names versions and ``current`` is none of them."""
    versions = if_match_versions()
    if versions is None:
        return None
    if current not in versions:
        raise PreconditionFailed()
    return current
