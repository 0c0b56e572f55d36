"""Server-side sessions: one record per signed-in browser (issue 15, finding 3).

The session cookie (Flask's signed cookie) holds the user's id and ``session_token`` (as
before: a new password or "sign out everywhere" changes the token and ends every session at
once) and ``sid``, a random token naming this browser's ``admin_session`` row; only the row's
SHA-256 of it is stored. Each sign-in makes a new row (and ends the one the browser had, so an
earlier copy of its cookie stops working); sign-out deletes only this browser's row.

A session ends when its row is gone, 8 hours after sign-in however active (absolute), or after
``SESSION_IDLE_MINUTES`` without a request (idle). ``last_seen_at`` is written at most once a
minute per session, so a busy page costs no write per request.
"""

import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app, request, session

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import AdminSession
from billing_admin.transactions import start_write

SESSION_MAX_SECONDS = 8 * 60 * 60
LAST_SEEN_RESOLUTION = 60
USER_AGENT_MAX = 255


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def idle_seconds() -> int:
    return current_app.config["SESSION_IDLE_MINUTES"] * 60


def create(user_id: str) -> str:
    """Add a record for a new sign-in (the caller commits); returns the token for the cookie.
    The browser's description is cut to fit: it is shown to tell sessions apart, nothing more."""
    token = secrets.token_urlsafe(32)
    now = now_epoch()
    db.session.add(
        AdminSession(
            user_id=user_id,
            token_hash=_hash(token),
            created_at=now,
            last_seen_at=now,
            user_agent=(request.user_agent.string or "")[:USER_AGENT_MAX],
            ip_address=(request.remote_addr or "")[:64],
        )
    )
    return token


def current_record_id() -> str | None:
    """The id of this browser's session record, if the cookie names one that exists."""
    token = session.get("sid")
    if not isinstance(token, str):
        return None
    return db.session.scalar(
        sa.select(AdminSession.id).where(AdminSession.token_hash == _hash(token))
    )


def check(user_id: str) -> str:
    """Is this browser's session of ``user_id`` still good? "ok", "idle", "expired" or "ended".
    Touches ``last_seen_at`` (at most once a minute)."""
    token = session.get("sid")
    if not isinstance(token, str):
        return "ended"
    record = db.session.scalar(
        sa.select(AdminSession).where(AdminSession.token_hash == _hash(token))
    )
    if record is None or record.user_id != user_id:
        return "ended"
    now = now_epoch()
    if now - record.created_at > SESSION_MAX_SECONDS:
        end_record(record.id)
        return "expired"
    if now - record.last_seen_at > idle_seconds():
        end_record(record.id)
        return "idle"
    if now - record.last_seen_at >= LAST_SEEN_RESOLUTION:
        start_write()
        db.session.execute(
            sa.update(AdminSession).where(AdminSession.id == record.id).values(last_seen_at=now)
        )
        db.session.commit()
    return "ok"


def end_record(record_id: str) -> None:
    """Delete one session record in a unit of work of its own."""
    start_write()
    db.session.execute(sa.delete(AdminSession).where(AdminSession.id == record_id))
    db.session.commit()


def end_current() -> None:
    """Delete this browser's record, if it has one (the caller commits)."""
    token = session.get("sid")
    if isinstance(token, str):
        db.session.execute(sa.delete(AdminSession).where(AdminSession.token_hash == _hash(token)))


def end_token(token: str | None) -> None:
    """Delete the record a token names, if any (the caller commits)."""
    if isinstance(token, str):
        db.session.execute(sa.delete(AdminSession).where(AdminSession.token_hash == _hash(token)))


def sessions_of(user_id: str) -> list[AdminSession]:
    """The user's live sessions, most recently used first."""
    now = now_epoch()
    return list(
        db.session.scalars(
            sa.select(AdminSession)
            .where(
                AdminSession.user_id == user_id,
                AdminSession.created_at >= now - SESSION_MAX_SECONDS,
                AdminSession.last_seen_at >= now - idle_seconds(),
            )
            .order_by(AdminSession.last_seen_at.desc(), AdminSession.created_at.desc())
        )
    )


def end_all(user_id: str, *, except_id: str | None = None) -> int:
    """Delete the user's session records (but ``except_id``); returns how many (caller commits)."""
    statement = sa.delete(AdminSession).where(AdminSession.user_id == user_id)
    if except_id is not None:
        statement = statement.where(AdminSession.id != except_id)
    return db.session.execute(statement).rowcount or 0


def end_one(user_id: str, record_id: str) -> bool:
    """Delete one of the user's records; False if it is not theirs or already gone."""
    deleted = db.session.execute(
        sa.delete(AdminSession).where(AdminSession.id == record_id, AdminSession.user_id == user_id)
    )
    return bool(deleted.rowcount)
