"""Managing dashboard accounts: the rules behind /admin/accounts and `flask list-accounts`.

Rules (issue 15): an admin cannot change their own role, disable themselves, or demote or
disable the last enabled admin. New accounts get a one-time set-password link valid
``PASSWORD_LINK_HOURS`` (24 h): the app sends no email, so it is shown once to the admin who
made it; only its SHA-256 is stored. Every change is in the audit log, with the admin who made
it. Signing an account out everywhere changes its ``session_token`` and deletes its session
records, so every copy of its cookies stops working at once.
"""

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from billing_admin.audit.service import Actor, record
from billing_admin.auth import second_factor, sessions
from billing_admin.auth.passwords import hash_password, password_problem
from billing_admin.auth.service import (
    NAME_MAX,
    AdminError,
    check_email,
    count_active_admins,
    ensure_account,
    set_role,
)
from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import ACCOUNT_ROLES, AdminAccount, PasswordLink, User
from billing_admin.models.user import new_session_token
from billing_admin.transactions import start_write


class AccountError(ValueError):
    """Why an account change is refused, in the request's language."""


@dataclass(frozen=True)
class AccountRow:
    user: User
    role: str | None  # None: disabled
    status: str  # "active", "disabled" or "awaiting password"
    last_sign_in_at: int | None
    has_second_factor: bool


def _status(user: User) -> str:
    if user.account is not None and user.account.is_disabled:
        return "disabled"
    if user.password_hash is None:
        return "awaiting password"
    return "active"


def list_accounts() -> list[AccountRow]:
    """Everyone with a dashboard account (or a platform admin, who has one implicitly), by email."""
    users = db.session.scalars(
        sa.select(User)
        .outerjoin(AdminAccount, AdminAccount.user_id == User.id)
        .where(sa.or_(User.role == "admin", AdminAccount.user_id.is_not(None)))
        .order_by(User.email)
    ).unique()
    rows = []
    for user in users:
        account = user.account
        rows.append(
            AccountRow(
                user=user,
                role=(account.role if account else "admin"),
                status=_status(user),
                last_sign_in_at=account.last_sign_in_at if account else None,
                has_second_factor=bool(account and account.has_second_factor),
            )
        )
    return rows


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(user: User) -> str:
    """A new set-password link for the user (older unused ones stop working); the caller
    commits. Returns the token, the only time it exists outside a hash."""
    now = now_epoch()
    db.session.execute(
        sa.update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    hours = current_app.config["PASSWORD_LINK_HOURS"]
    db.session.add(
        PasswordLink(
            user_id=user.id, token_hash=_hash(token), created_at=now, expires_at=now + hours * 3600
        )
    )
    return token


def create_account(email: str, name: str, role: str, actor: Actor) -> tuple[User, str]:
    """Give ``email`` a dashboard account with ``role``; returns the user and the token of its
    set-password link. A platform user who exists keeps their row (and password) and gains the
    account. AccountError if the email is not valid or already has an account."""
    if role not in ACCOUNT_ROLES:
        raise AccountError(gettext("Choose a role: admin or viewer."))
    try:
        email = check_email(email)
    except AdminError:
        raise AccountError(gettext("Enter a valid email address.")) from None
    name = name.strip()
    if len(name) > NAME_MAX:
        raise AccountError(gettext("The name must be at most 255 characters."))
    start_write()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is not None and (user.account is not None or user.role == "admin"):
        db.session.rollback()
        raise AccountError(gettext("%(email)s already has an account.", email=email))
    if user is None:
        user = User(email=email, name=name or email.split("@")[0], password_hash=None)
        db.session.add(user)
        db.session.flush()
    elif name:
        user.name = name
    set_role(user, role)
    token = _new_link(user)
    record(
        "account_created",
        "account",
        user.id,
        actor=actor,
        metadata={"email": email, "role": role},
    )
    db.session.commit()
    return user, token


def _target(user_id: str, actor: Actor) -> User:
    start_write()
    user = db.session.get(User, user_id)
    if user is None or (user.account is None and user.role != "admin"):
        db.session.rollback()
        raise AccountError(gettext("No such account."))
    return user


def _not_self(user: User, actor: Actor, message: str) -> None:
    if user.id == actor.user_id:
        db.session.rollback()
        raise AccountError(message)


def _not_last_admin(user: User) -> None:
    if user.is_admin and count_active_admins(exclude_user_id=user.id) == 0:
        db.session.rollback()
        raise AccountError(gettext("This is the last admin: make another admin first."))


def change_role(user_id: str, role: str, actor: Actor) -> User:
    if role not in ACCOUNT_ROLES:
        raise AccountError(gettext("Choose a role: admin or viewer."))
    user = _target(user_id, actor)
    _not_self(user, actor, gettext("You cannot change your own role."))
    old = user.dashboard_role or (user.account.role if user.account else "admin")
    if role != "admin":
        _not_last_admin(user)
    set_role(user, role)
    record(
        "account_changed",
        "account",
        user.id,
        actor=actor,
        changes={"role": {"old": old, "new": role}},
        metadata={"email": user.email},
    )
    db.session.commit()
    return user


def _end_everything(user: User) -> int:
    user.session_token = new_session_token()
    return sessions.end_all(user.id)


def disable(user_id: str, actor: Actor) -> User:
    user = _target(user_id, actor)
    _not_self(user, actor, gettext("You cannot disable your own account."))
    _not_last_admin(user)
    ensure_account(user).disabled_at = now_epoch()
    _end_everything(user)
    record("account_disabled", "account", user.id, actor=actor, metadata={"email": user.email})
    db.session.commit()
    return user


def enable(user_id: str, actor: Actor) -> User:
    user = _target(user_id, actor)
    ensure_account(user).disabled_at = None
    record("account_enabled", "account", user.id, actor=actor, metadata={"email": user.email})
    db.session.commit()
    return user


def sign_out_everywhere(user_id: str, actor: Actor) -> int:
    """End every session of the account; returns how many records there were."""
    user = _target(user_id, actor)
    ended = _end_everything(user)
    record(
        "sessions_ended",
        "account",
        user.id,
        actor=actor,
        metadata={"email": user.email, "sessions": ended},
    )
    db.session.commit()
    return ended


def reset_second_factor(user_id: str, actor: Actor) -> User:
    """Remove the account's second factor (a lost phone); with REQUIRE_SECOND_FACTOR it enrols
    again at its next sign-in. Its sessions end."""
    user = _target(user_id, actor)
    second_factor.disable(ensure_account(user))
    _end_everything(user)
    record("second_factor_reset", "account", user.id, actor=actor, metadata={"email": user.email})
    db.session.commit()
    return user


def new_password_link(user_id: str, actor: Actor) -> tuple[User, str]:
    user = _target(user_id, actor)
    token = _new_link(user)
    record(
        "account_changed",
        "account",
        user.id,
        actor=actor,
        metadata={"email": user.email, "password": "link made"},
    )
    db.session.commit()
    return user, token


# -- Using a set-password link -----------------------------------------------------------------


def link_user(token: str) -> User | None:
    """The account a set-password link is for, if the link is unused and not expired."""
    if not token or len(token) > 128:
        return None
    link = db.session.scalar(sa.select(PasswordLink).where(PasswordLink.token_hash == _hash(token)))
    if link is None or link.used_at is not None or link.expires_at < now_epoch():
        return None
    user = db.session.get(User, link.user_id)
    if user is None or not user.has_dashboard_access:
        return None
    return user


def set_password_with_link(token: str, password: str) -> str | None:
    """Set the password a link is for; returns the problem with the password, or None when it
    is set (the link is used up, the account's sessions end). AccountError: the link is not
    valid (any more)."""
    user = link_user(token)
    if user is None:
        raise AccountError(gettext("This link is not valid: it has been used or has expired."))
    problem = password_problem(password, email=user.email, name=user.name)
    if problem:
        return problem
    new_hash = hash_password(password)
    start_write()
    link = db.session.scalar(
        sa.select(PasswordLink).where(
            PasswordLink.token_hash == _hash(token), PasswordLink.used_at.is_(None)
        )
    )
    if link is None:
        db.session.rollback()
        raise AccountError(gettext("This link is not valid: it has been used or has expired."))
    link.used_at = now_epoch()
    user = db.session.get(User, link.user_id)
    user.password_hash = new_hash
    ensure_account(user).must_change_password = False
    _end_everything(user)
    record(
        "password_changed",
        "account",
        user.id,
        actor=Actor.for_user(user),
        metadata={"email": user.email, "password": "set with link"},
    )
    db.session.commit()
    return None
