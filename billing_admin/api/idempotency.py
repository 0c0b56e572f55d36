"""``Idempotency-Key`` on the API's POSTs (and the original's ``PUT /users/<id>/subscription``):
a retried request is answered, not done again.

A script that sends ``Idempotency-Key: <any 1-255 printable ASCII characters>`` with one:

- the first time: the request is claimed (a row in ``api_idempotency_key``, committed before the
  work starts), done, and its answer stored in that row (any status below 500; a 5xx or an
  exception releases the key, so a retry does the work);
- again within 24 hours with the same method, path and JSON body (compared as canonical JSON,
  so key order and spacing do not matter): the stored answer, with
  ``Idempotent-Replayed: true``, and nothing is done;
- again with a different body or path: 422, nothing is done;
- again while the first is still being answered (a parallel retry): 409, nothing is done: retry
  later. The unique ``(owner, key)`` index decides which of two parallel requests claims it, on
  any number of workers.

A body the API refuses before reading its meaning (not JSON: 415; too large: 413; not valid
JSON, too deep, a NUL or a repeated key: 400; api/http.py) is refused before the key is
claimed: nothing is stored, and the key stays free for the corrected request.

Keys belong to one credential (a token, or an account's session). Rows expire 24 hours after
the first request; an expired key is claimed afresh, and ``flask purge-idempotency-keys``
deletes expired rows (run it daily). A claim still unanswered after ``ABANDONED_AFTER`` seconds
(its worker died) may be claimed again.

Cost: one indexed read and one insert before the work, one update after; a replay is one read.
The work and the stored answer are two commits: a worker that dies between them leaves the key
claimed until ``ABANDONED_AFTER``, then a retry does the work again (the only way a key can
repeat work).
"""

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Response, g, jsonify, make_response, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from billing_admin.api.http import NO_BODY, canonical_json, json_body
from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import IdempotencyKey
from billing_admin.transactions import start_write

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
TTL_SECONDS = 24 * 60 * 60
ABANDONED_AFTER = 5 * 60
STORED_HEADERS = ("Content-Type", "ETag", "Location")


@dataclass(frozen=True)
class Claimed:
    row_id: int


def request_fingerprint() -> str:
    """SHA-256 of the method, path and body (as canonical JSON). Raises what ``json_body``
    raises (413, 415, 400) for a body the API refuses."""
    value = json_body(required=False)
    body = b"" if value is NO_BODY else canonical_json(value).encode()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def idempotent(view: Callable) -> Callable:
    """Makes a write view honour ``Idempotency-Key`` (see the module's docstring)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not KEY_PATTERN.match(key):
            return _detail(
                f"{HEADER} must be 1 to 255 printable ASCII characters without spaces.", 400
            )
        fingerprint = request_fingerprint()  # a refused body is refused before the claim
        outcome = _claim(g.api_owner, key, fingerprint)
        if isinstance(outcome, Response):
            return outcome
        try:
            response = _as_response(view(*args, **kwargs))
        except BaseException:
            _release(outcome.row_id)
            raise
        if response.status_code >= 500:
            _release(outcome.row_id)
        else:
            _store(outcome.row_id, response)
        return response

    return wrapper


def _detail(message: str, status: int) -> Response:
    response = jsonify(detail=message)
    response.status_code = status
    return response


def _as_response(result) -> Response:
    return make_response(result)


def _claim(owner: str, key: str, fingerprint: str) -> Claimed | Response:
    for _ in range(2):
        start_write()
        now = now_epoch()
        row = db.session.scalar(
            sa.select(IdempotencyKey).where(
                IdempotencyKey.owner == owner, IdempotencyKey.key == key
            )
        )
        if row is not None and (
            row.expires_at <= now
            or (row.status is None and row.created_at + ABANDONED_AFTER <= now)
        ):
            db.session.delete(row)  # expired, or its worker died: claimed afresh
            db.session.flush()
            row = None
        if row is not None:
            db.session.rollback()
            return _answer_for(row, fingerprint)
        claim = IdempotencyKey(
            owner=owner,
            key=key,
            method=request.method,
            path=request.path[:512],
            request_hash=fingerprint,
            created_at=now,
            expires_at=now + TTL_SECONDS,
        )
        db.session.add(claim)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # a parallel request claimed it first: answer as it says
            continue
        return Claimed(claim.id)
    return _detail(f"A request with this {HEADER} is in progress; retry later.", 409)


def _answer_for(row: IdempotencyKey, fingerprint: str) -> Response:
    if row.request_hash != fingerprint:
        return _detail(
            f"This {HEADER} was used for a different request (another body or path) in the "
            "last 24 hours: use a new key for a new request.",
            422,
        )
    if row.status is None:
        response = _detail(f"A request with this {HEADER} is in progress; retry later.", 409)
        response.headers["Retry-After"] = "1"
        return response
    response = Response(row.response_body, status=row.status)
    for name, value in (row.response_headers or {}).items():
        response.headers[name] = value
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _store(row_id: int, response: Response) -> None:
    start_write()
    db.session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id)
        .values(
            status=response.status_code,
            response_body=response.get_data(as_text=True),
            response_headers={
                name: response.headers[name] for name in STORED_HEADERS if name in response.headers
            },
        )
    )
    db.session.commit()


def _release(row_id: int) -> None:
    """Free the key after a failure. If even that fails (the database went away), the claim is
    freed by ABANDONED_AFTER instead; the original error is what the client is told."""
    try:
        db.session.rollback()
        start_write()
        db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()


def purge_expired_keys(now: int | None = None) -> int:
    """Delete the keys whose 24 hours are over; returns how many."""
    start_write()
    result = db.session.execute(
        sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or now_epoch()))
    )
    db.session.commit()
    return result.rowcount
