"""Signing in and out, and making admins. Views and commands call these; no rule lives there."""

import hmac
import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import session
from flask_babel import gettext, ngettext
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
from billing_admin.transactions import lock_for, start_write

log = logging.getLogger("billing_admin.auth")

SESSION_MAX_SECONDS = 8 * 60 * 60


class AdminError(ValueError):
    """Why an admin could not be created, in one line."""


@dataclass(frozen=True)
class SignInOutcome:
    user: User | None = None
    locked_seconds: int = 0

    @property
    def message(self) -> str:
        """Why the sign-in was refused, in the request's language."""
        if self.locked_seconds:
            minutes = -(-self.locked_seconds // 60)
            return ngettext(
                "Too many failed sign-in attempts for this account. Try again in %(num)s minute.",
                "Too many failed sign-in attempts for this account. Try again in %(num)s minutes.",
                minutes,
            )
        return gettext("Invalid email or password")


EMAIL_MAX = 255


def normalise_email(email: str) -> str:
    # Lower-casing can lengthen text ("İ" becomes two characters): cut after, not before.
    return email.strip().lower()[:EMAIL_MAX]


def authenticate(email: str, password: str, *, remote_addr: str | None = None) -> SignInOutcome:
    """Check a sign-in; only admins get in. Commits the failure count or its reset."""
    email = normalise_email(email)
    start_write()
    # One sign-in at a time per account, so a burst of guesses cannot all read "4 failures"
    # before any of them is counted.
    lock_for(f"sign-in:{email}")
    locked = lockout_remaining(email)
    if locked:
        log.warning("sign-in refused for %r from %s: locked out", email, remote_addr)
        return SignInOutcome(locked_seconds=locked)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if verify_password(user.password_hash if user else None, password) and user.is_admin:
        clear_failures(email)
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        db.session.commit()
        log.info("sign-in succeeded for %r from %s", email, remote_addr)
        return SignInOutcome(user=user)
    record_failure(email)
    db.session.commit()
    # %r: the email is whatever was typed, and must not be able to forge a log line.
    log.warning("sign-in failed for %r from %s", email, remote_addr)
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
    if len(email) > EMAIL_MAX:
        raise AdminError(f"invalid email: at most {EMAIL_MAX} characters")
    problem = password_problem(password)
    if problem:
        raise AdminError(problem)
    return normalise_email(email)


NAME_MAX = 255


def create_or_promote_admin(email: str, password: str, name: str | None = None) -> tuple[User, str]:
    """Create an admin, make an existing user one, or give an admin a new password; returns the
    user and what happened: "created", "promoted" or "updated"."""
    email = check_new_admin(email, password)
    if name is not None and (len(name) > NAME_MAX or not name.strip()):
        raise AdminError(f"the name must be 1 to {NAME_MAX} characters")
    start_write()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    outcome = "created" if user is None else "updated" if user.is_admin else "promoted"
    if user is None:
        user = User(email=email, name=name or email.split("@")[0])
        db.session.add(user)
    elif name:
        user.name = name
    user.role = "admin"
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()  # a new password ends the old sessions
    db.session.commit()
    return user, outcome


def bootstrap_admin(email: str = "admin@example.com") -> tuple[User, str] | None:
    """On a database without any admin, create one with a random password (returned once)."""
    if db.session.scalar(sa.select(User.id).where(User.role == "admin").limit(1)):
        return None
    password = secrets.token_urlsafe(15)  # 20 characters
    user, _ = create_or_promote_admin(email, password, name="Admin")
    return user, password
