"""Signing in and out, and making admins. Views and commands call these; no rule lives there."""

import hmac
import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import session
from flask_login import login_user, logout_user

from billing_admin.auth.lockout import clear_failures, lockout_remaining, record_failure
from billing_admin.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from billing_admin.clock import now_epoch
from billing_admin.extensions import db, login_manager
from billing_admin.models import User
from billing_admin.models.user import new_session_token
from billing_admin.transactions import start_write

log = logging.getLogger("billing_admin.auth")

SESSION_MAX_SECONDS = 8 * 60 * 60
INVALID_CREDENTIALS = "Invalid email or password"


class AdminError(ValueError):
    """Why an admin could not be created, in one line."""


@dataclass(frozen=True)
class SignInOutcome:
    user: User | None = None
    locked_seconds: int = 0

    @property
    def message(self) -> str:
        if self.locked_seconds:
            minutes = -(-self.locked_seconds // 60)
            return (
                "Too many failed sign-in attempts for this account. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
            )
        return INVALID_CREDENTIALS


def normalise_email(email: str) -> str:
    return email.strip().lower()


def authenticate(email: str, password: str, *, remote_addr: str | None = None) -> SignInOutcome:
    """Check a sign-in; only admins get in. Commits the failure count or its reset."""
    email = normalise_email(email)
    start_write()
    locked = lockout_remaining(email)
    if locked:
        log.warning("sign-in refused for %s from %s: locked out", email, remote_addr)
        return SignInOutcome(locked_seconds=locked)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if verify_password(user.password_hash if user else None, password) and user.is_admin:
        clear_failures(email)
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        db.session.commit()
        log.info("sign-in succeeded for %s from %s", email, remote_addr)
        return SignInOutcome(user=user)
    record_failure(email)
    db.session.commit()
    log.warning("sign-in failed for %s from %s", email, remote_addr)
    return SignInOutcome(locked_seconds=lockout_remaining(email))


def start_session(user: User) -> None:
    # A fresh session at sign-in: nothing from before (e.g. a planted value) survives it.
    session.clear()
    login_user(user)
    session.permanent = True
    session["signed_in_at"] = now_epoch()


def end_session(user: User) -> None:
    """Sign out, and end every other copy of this user's session cookie too."""
    start_write()
    user.session_token = new_session_token()
    db.session.commit()
    logout_user()
    session.clear()


@login_manager.user_loader
def load_session_user(session_id: str) -> User | None:
    user_id, _, token = session_id.partition(":")
    user = db.session.get(User, user_id)
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    if now_epoch() - session.get("signed_in_at", 0) > SESSION_MAX_SECONDS:
        return None  # an absolute limit: activity does not extend a session past 8 hours
    return user


def check_new_admin(email: str, password: str) -> str:
    """The normalised email, or AdminError saying what is wrong."""
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise AdminError(f"invalid email: {exc}") from None
    problem = password_problem(password)
    if problem:
        raise AdminError(problem)
    return normalise_email(email)


def create_or_promote_admin(
    email: str, password: str, name: str | None = None
) -> tuple[User, bool]:
    """Create an admin, or make an existing user one; returns (user, created)."""
    email = check_new_admin(email, password)
    start_write()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    created = user is None
    if created:
        user = User(email=email, name=name or email.split("@")[0])
        db.session.add(user)
    elif name:
        user.name = name
    user.role = "admin"
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()  # a new password ends the old sessions
    db.session.commit()
    return user, created


def bootstrap_admin(email: str = "admin@example.com") -> tuple[User, str] | None:
    """On a database without any admin, create one with a random password (returned once)."""
    if db.session.scalar(sa.select(User.id).where(User.role == "admin").limit(1)):
        return None
    password = secrets.token_urlsafe(15)  # 20 characters
    user, _ = create_or_promote_admin(email, password, name="Admin")
    return user, password
