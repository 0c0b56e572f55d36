"""Opaque cursors for walking a plan's subscribers (issue 14).

A cursor is the key of the last row a client saw, (created_at, subscription id), with the plan
and status filter it was made for, signed with the app's SECRET_KEY (itsdangerous, the library
Flask signs sessions with): a client can neither forge one nor make one read another plan or
filter. It holds no secret (the key is readable base64); the signature only keeps it honest.
"""

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "billing-admin.subscribers-cursor.v1"
CURSOR_MAX = 512


class BadCursor(ValueError):
    """The cursor cannot be used; the message says why."""


@dataclass(frozen=True)
class Cursor:
    plan_id: str
    status: str | None
    created_at: int
    subscription_id: str


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def encode_cursor(cursor: Cursor) -> str:
    return _serializer().dumps(
        [cursor.plan_id, cursor.status, cursor.created_at, cursor.subscription_id]
    )


def decode_cursor(text: str, plan_id: str, status: str | None) -> tuple[int, str]:
    """The key after which to continue. Raises BadCursor for a cursor that is not one of ours,
    or was made for another plan or status filter."""
    if len(text) > CURSOR_MAX:
        raise BadCursor("Invalid cursor: too long. Use the next_cursor of a previous answer.")
    try:
        value = _serializer().loads(text)
    except BadSignature:
        raise BadCursor("Invalid cursor. Use the next_cursor of a previous answer.") from None
    if not (
        isinstance(value, list)
        and len(value) == 4
        and isinstance(value[2], int)
        and isinstance(value[3], str)
    ):
        raise BadCursor("Invalid cursor. Use the next_cursor of a previous answer.")
    if value[0] != plan_id or value[1] != (status or None):
        raise BadCursor(
            "This cursor was made for another plan or status filter: keep the plan and status "
            "of the walk it came from."
        )
    return value[2], value[3]
