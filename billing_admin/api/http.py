"""What the API's writes ask of a request beyond its body's meaning (issue 14).

- **JSON only**: a write with a body must say ``Content-Type: application/json`` (415 otherwise)
  and be one JSON value (400 when it does not parse). A write without a body (toggle, delete,
  duplicate) may send none.
- **Size**: at most ``API_MAX_BODY_BYTES`` (64 KiB): a plan is a few KiB at most. 413 otherwise,
  read no further than the limit (``Content-Length`` first, then the stream itself).
- **Shape**: 400 before any database work for a body nested deeper than ``MAX_JSON_DEPTH``
  (a plan's quotas are one level; 64 KiB of ``[`` would exhaust Python's recursion limit in
  the parser, or later in pydantic, SQLAlchemy or ``jsonify``), for a NUL (U+0000) in any
  string or key (PostgreSQL cannot store it; security/input.py refuses it in query strings and
  forms), and for a key sent twice in one object (RFC 8259 §4 leaves the meaning to the
  receiver; ``{"days": 500, "days": 5}`` is more likely a script's bug than a wish for 5).
  The body is parsed once per request (``json_body``); the Idempotency-Key fingerprint reads
  the same value.
- **ETag / If-Match**: every plan answer carries a strong ETag made from the plan's version
  (``"v7"``: the plan's URL names the plan); every subscription answer one made from the
  subscription's id and version (``"<id>-v7"``), since ``/users/<id>/subscription`` may stand
  for another subscription tomorrow. ``If-Match`` on PUT, PATCH, DELETE and the actions is
  optional; when sent, it must name the current tag (or be ``*``), else 412 with the current
  representation (RFC 9110 §13.1.1: strong comparison, so a weak tag never matches).
"""

import json
import re
from typing import Any
from urllib.parse import quote

from flask import current_app, g, request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from billing_admin.security.input import NUL_REFUSED

# A strong entity tag as RFC 9110 §8.8.3 writes it (etagc: no spaces, no quotes).
ENTITY_TAG = re.compile(r'^"[\x21\x23-\x7e\x80-\xff]*"$')
MAX_JSON_DEPTH = 32
NO_BODY = object()


def etag_of(version: int) -> str:
    """The strong ETag of a plan at ``version``: ``"v7"``."""
    return f'"v{version}"'


def subscription_etag(subscription_id: str, version: int) -> str:
    """The strong ETag of a subscription: ``"<id>-v7"``. The id is percent-encoded (a UUID is
    left as it is) so any stored id makes a valid tag, and no two subscriptions share one."""
    return f'"{quote(subscription_id, safe="")}-v{version}"'


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
    """The request's JSON value, or NO_BODY when there is none and none is required. Parsed
    once per request: later calls answer the same value.

    Raises UnsupportedMediaType (415) for a body that is not declared JSON, BadRequest (400)
    for JSON that does not parse (or is not UTF-8), is nested deeper than MAX_JSON_DEPTH,
    holds a NUL or repeats a key in an object; RequestEntityTooLarge (413)."""
    data = raw_body()
    if not data and not required:
        return NO_BODY
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as JSON, with 'Content-Type: application/json'.")
    if "api_json_body" not in g:
        g.api_json_body = _parse(data)
    return g.api_json_body


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _parse(data: bytes) -> Any:
    try:
        value = json.loads(
            data.decode("utf-8"), parse_float=_finite_float, object_pairs_hook=_unique_keys
        )
    except _DuplicateKey as exc:
        raise BadRequest(
            f"The body names the key {exc.key[:100]!r} twice in one object; send it once."
        ) from None
    except RecursionError:
        raise _too_deep() from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"The body is not valid JSON: {_short(exc)}") from None
    _check_depth_and_text(value)
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for key, item in pairs:
        if key in value:
            raise _DuplicateKey(key)
        value[key] = item
    return value


def _too_deep() -> BadRequest:
    return BadRequest(f"The body is nested deeper than {MAX_JSON_DEPTH} levels, the API's limit.")


def _check_depth_and_text(value: Any) -> None:
    """Walks the value without recursion (it may be as deep as the parser allows)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise BadRequest(gettext(NUL_REFUSED))
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(item, dict):
                if any("\x00" in key for key in item):
                    raise BadRequest(gettext(NUL_REFUSED))
                item = item.values()
            pending.extend((child, depth + 1) for child in item)


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
    """If-Match names no tag that is the current one."""


def if_match_tags() -> frozenset[str] | None:
    """The strong entity tags ``If-Match`` lists, or None when there is no precondition (no
    header, or ``*``). A weak tag (If-Match compares strongly) or a malformed one matches
    nothing, so such a header can only fail."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    return frozenset(tag.strip() for tag in header.split(",") if ENTITY_TAG.match(tag.strip()))


def check_if_match(current_etag: str, version: int) -> int | None:
    """The version a write must find (None: no precondition, last writer wins).

    Raises PreconditionFailed when If-Match lists tags and ``current_etag`` is none of them."""
    tags = if_match_tags()
    if tags is None:
        return None
    if current_etag not in tags:
        raise PreconditionFailed()
    return version
