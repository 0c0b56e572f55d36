"""API tokens for scripts. A token is shown once; only its SHA-256 is stored.

Tokens are looked up by their hash, so no stored secret is ever compared byte by byte with
what a client sent (the comparison that could leak through timing never happens).
"""

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import has_request_context, request

from billing_admin.audit.service import ANONYMOUS, Actor, record, record_event
from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import TOKEN_SCOPES, ApiToken, User
from billing_admin.transactions import start_write

TOKEN_PREFIX = "bat_"  # lets secret scanners and people recognise a Billing Admin token
TOKEN_BYTES = 32
NAME_MAX = 100
LAST_USED_RESOLUTION = 60  # seconds; saves a write on every request of a busy script


class TokenError(ValueError):
    """Why a token command cannot be done, in one line."""


@dataclass(frozen=True)
class BearerCheck:
    user: User | None
    status: int = 200
    detail: str = ""
    owner: User | None = None  # the token's owner when it is refused with 403
    token: ApiToken | None = None  # the token that was accepted


NOT_AUTHENTICATED = BearerCheck(None, 401, "Not authenticated")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


COMMAND_LINE = Actor("flask command line")


def create_api_token(name: str, admin_email: str, scope: str = "read") -> tuple[ApiToken, str]:
    """A new token for the admin with ``admin_email``, and the token itself (shown once).
    ``scope``: ``read`` (GET only) or ``write`` (every API method). Raises TokenError."""
    name = name.strip()
    start_write()
    if not name or len(name) > NAME_MAX:
        raise TokenError(f"the token name must be 1 to {NAME_MAX} characters")
    if scope not in TOKEN_SCOPES:
        raise TokenError(f"the scope must be one of {', '.join(TOKEN_SCOPES)}")
    if db.session.scalar(sa.select(ApiToken.id).where(ApiToken.name == name)):
        raise TokenError(f"a token named '{name}' already exists")
    user = db.session.scalar(sa.select(User).where(User.email == admin_email.strip().lower()))
    if user is None or not user.is_admin:
        raise TokenError(f"no admin with email '{admin_email}'")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    api_token = ApiToken(name=name, user=user, token_hash=hash_token(token), scope=scope)
    db.session.add(api_token)
    db.session.flush()
    record(
        "token_created",
        "api_token",
        api_token.id,
        actor=COMMAND_LINE,
        metadata={"name": name, "email": user.email, "scope": scope},
    )
    db.session.commit()
    return api_token, token


def list_api_tokens() -> list[ApiToken]:
    return list(
        db.session.scalars(sa.select(ApiToken).order_by(ApiToken.created_at, ApiToken.name))
    )


def revoke_api_token(name: str) -> ApiToken:
    start_write()
    api_token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == name))
    if api_token is None:
        raise TokenError(f"no token named '{name}'")
    if api_token.revoked_at is None:
        api_token.revoked_at = now_epoch()
        record(
            "token_revoked",
            "api_token",
            api_token.id,
            actor=COMMAND_LINE,
            metadata={"name": name, "email": api_token.user.email},
        )
        db.session.commit()
    return api_token


def check_bearer(authorization: str) -> BearerCheck:
    """Who an ``Authorization: Bearer <token>`` header speaks for, or why it is refused."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return NOT_AUTHENTICATED
    api_token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    )
    if api_token is None:
        return NOT_AUTHENTICATED
    if api_token.revoked_at is not None:
        # Someone still holds a revoked token: worth an entry in the audit log each time.
        record_event(
            "revoked_token_used",
            "api_token",
            api_token.id,
            actor=ANONYMOUS,
            metadata={"name": api_token.name, "address": _address()},
        )
        return BearerCheck(None, 401, "Token revoked")
    if not api_token.user.is_admin:
        return BearerCheck(None, 403, "The token's owner is not an admin", owner=api_token.user)
    user, now = api_token.user, now_epoch()
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
        start_write()
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=now)
        )
        db.session.commit()
    return BearerCheck(user, token=api_token)


def token_actor(api_token: ApiToken) -> Actor:
    """Who a token's writes are recorded as: its admin, and the token's name (issue 14)."""
    return Actor(f"{api_token.user.email} (API token '{api_token.name}')", api_token.user.id)


def _address() -> str | None:
    return request.remote_addr if has_request_context() else None
