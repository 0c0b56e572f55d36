"""Signing in and out, and making accounts from the command line. Views and commands call
these; no rule lives there.

A sign-in is a few steps, each its own short unit of work:

1. ``check_password``: email and password (throttled: auth/throttle.py). The Argon2 check runs
   outside any transaction; only the outcome is written (finding 2).
2. Then, as ``next_step`` says: ``set_password`` (an account made by ``flask bootstrap-admin``
   must choose its own), ``second_factor`` (a TOTP or recovery code, throttled the same way), or
   ``enrol`` (``REQUIRE_SECOND_FACTOR`` and no second factor yet). Between steps the browser's
   signed session holds a *pending* sign-in (``pending_user``), good for 10 minutes; it grants
   nothing but the next step.
3. ``complete_sign_in``: a new server-side session (auth/sessions.py) and the audit entry.

Every outcome (succeeded, failed, throttled) goes through ``record_sign_in_outcome``: the log
line, the audit entry, and the place for any other observer (metrics).
"""

import hmac
import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, g, has_request_context, request, session
from flask_babel import gettext, ngettext
from flask_login import login_user, logout_user

from billing_admin.audit.service import ANONYMOUS, Actor, record
from billing_admin.auth import second_factor, sessions, throttle
from billing_admin.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from billing_admin.clock import now_epoch
from billing_admin.extensions import db, login_manager
from billing_admin.formatting import grouped
from billing_admin.metrics.instruments import count_sign_in
from billing_admin.models import AdminAccount, User
from billing_admin.models.user import new_session_token
from billing_admin.transactions import start_write

log = logging.getLogger("billing_admin.auth")

SESSION_MAX_SECONDS = sessions.SESSION_MAX_SECONDS
PENDING_SECONDS = 10 * 60
EMAIL_MAX = 255
NAME_MAX = 255


class AdminError(ValueError):
    """Why an account could not be created or changed, in one line."""


@dataclass(frozen=True)
class StepOutcome:
    """The answer to one sign-in step: the user when it passed, else why not."""

    user: User | None = None
    wait_seconds: int = 0
    reason: str = ""  # for the refused: "password", "second_factor", "throttled"

    @property
    def message(self) -> str:
        """Why the step was refused, in the request's language."""
        if self.wait_seconds:
            return ngettext(
                "Too many failed sign-in attempts for this account. Try again in %(count)s second.",
                "Too many failed sign-in attempts for this account. "
                "Try again in %(count)s seconds.",
                self.wait_seconds,
                count=grouped(self.wait_seconds),
            )
        if self.reason == "second_factor":
            return gettext("That code is not right, or it has been used already.")
        return gettext("Invalid email or password")


def normalise_email(email: str) -> str:
    # Lower-casing can lengthen text ("İ" becomes two characters): cut after, not before.
    return email.strip().lower()[:EMAIL_MAX]


def client_address() -> str | None:
    return request.remote_addr if has_request_context() else None


# -- Outcomes ----------------------------------------------------------------------------------


def record_sign_in_outcome(
    outcome: str, *, email: str, user: User | None, reason: str = ""
) -> None:
    """The one place every sign-in outcome is recorded: ``succeeded``, ``failed`` or
    ``throttled``. Logs a line (the email with %r: whatever was typed cannot forge a line) and
    adds an audit entry to the caller's unit of work (the email kept as data, shown escaped).
    Never the password or code. Counted in the metrics too (billing_admin_sign_ins_total)."""
    address = client_address()
    level = logging.INFO if outcome == "succeeded" else logging.WARNING
    suffix = f": {reason}" if reason else ""
    log.log(level, "sign-in %s for %r from %s%s", outcome, email, address, suffix)
    metadata = {"email": email, "address": address}
    if reason:
        metadata["reason"] = reason
    actor = Actor.for_user(user) if outcome == "succeeded" and user is not None else ANONYMOUS
    if user is not None:
        record(f"sign_in_{outcome}", "account", user.id, actor=actor, metadata=metadata)
    else:
        record(f"sign_in_{outcome}", "sign_in", "", actor=actor, metadata=metadata)
    count_sign_in(outcome)
    if outcome != "succeeded" and has_request_context():
        g.sign_in_failed = True  # counted by the per-client limit (auth/views.py)


# -- Step 1: the password ----------------------------------------------------------------------


def _user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def check_password(email: str, password: str) -> StepOutcome:
    """The password step. Throttled per account and client; the Argon2 check runs with no
    transaction open; the outcome is written in a short one."""
    email = normalise_email(email)
    client = client_address()
    device_user = throttle.device_user_id() if has_request_context() else None
    start_write()
    throttle.lock(email)
    user = _user_by_email(email)
    check = throttle.check(
        email, client, device_user_id=device_user, user_id=user.id if user else None
    )
    if check.wait_seconds:
        record_sign_in_outcome("throttled", email=email, user=user, reason="account delay")
        db.session.commit()
        return StepOutcome(wait_seconds=check.wait_seconds, reason="throttled")
    reservation = throttle.reserve(email, client)
    password_hash = user.password_hash if user else None
    db.session.commit()  # the attempt is counted; no lock is held while Argon2 works

    good = verify_password(password_hash, password)

    start_write()
    user = _user_by_email(email)
    if good and user is not None and user.password_hash == password_hash:
        if user.has_dashboard_access:
            throttle.settle_success(email, client, reservation)
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            db.session.commit()
            return StepOutcome(user=user)
        reason = "no access"
    else:
        reason = "password"
    record_sign_in_outcome("failed", email=email, user=user, reason=reason)
    db.session.commit()
    return StepOutcome(reason="password")


# -- The steps after it ------------------------------------------------------------------------


def next_step(user: User) -> str | None:
    """What the user must still do before a session starts, or None."""
    account = user.account
    if account is not None and account.must_change_password:
        return "set_password"
    if account is not None and account.has_second_factor:
        return "second_factor"
    if current_app.config["REQUIRE_SECOND_FACTOR"]:
        return "enrol"
    return None


def begin_pending(user: User) -> None:
    """Remember, in this browser's session, a sign-in that has passed its password. Anything
    else in the session goes; the session this browser had (if any) is ended when the new one
    starts (``complete_sign_in``)."""
    previous = session.get("sid")
    session.clear()
    session["pending"] = {
        "user": user.id,
        "token": user.session_token,
        "at": now_epoch(),
        "passed": [],
        "previous_sid": previous if isinstance(previous, str) else None,
    }


def pending_user() -> User | None:
    """The user of this browser's pending sign-in, if it is recent and still valid."""
    pending = session.get("pending")
    if not isinstance(pending, dict):
        return None
    if now_epoch() - int(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = db.session.get(User, pending.get("user"))
    if user is None or not user.has_dashboard_access:
        return None
    if not hmac.compare_digest(user.session_token, str(pending.get("token", ""))):
        return None
    return user


def pending_passed(step: str) -> None:
    pending = dict(session["pending"])
    pending["passed"] = [*pending.get("passed", []), step]
    session["pending"] = pending


def pending_next_step(user: User) -> str | None:
    passed = session.get("pending", {}).get("passed", [])
    step = next_step(user)
    if step == "set_password" and "set_password" in passed:
        return None  # cannot happen: set_own_password clears the flag; kept for safety
    if step == "second_factor" and "second_factor" in passed:
        return None
    return step


def check_second_factor(user: User, code: str) -> StepOutcome:
    """A TOTP code, or a recovery code (used up), for the pending user; throttled like
    passwords. Cheap to check, so it runs inside its short unit of work, under the account's
    lock: two requests cannot both use one code."""
    email = user.email
    user_id = user.id
    client = client_address()
    device_user = throttle.device_user_id()
    start_write()
    throttle.lock(email)
    user = db.session.get(User, user_id)
    check = throttle.check(email, client, device_user_id=device_user, user_id=user_id)
    if check.wait_seconds:
        record_sign_in_outcome("throttled", email=email, user=user, reason="account delay")
        db.session.commit()
        return StepOutcome(wait_seconds=check.wait_seconds, reason="throttled")
    account = user.account
    if account is not None and second_factor.accept_code(account, code):
        throttle.settle_success(email, client, throttle.reserve(email, client))
        db.session.commit()
        return StepOutcome(user=user)
    if second_factor.looks_like_recovery_code(code) and second_factor.use_recovery_code(
        user_id, code
    ):
        throttle.settle_success(email, client, throttle.reserve(email, client))
        record(
            "recovery_code_used",
            "account",
            user_id,
            actor=Actor.for_user(user),
            metadata={
                "email": email,
                "address": client,
                "left": second_factor.recovery_codes_left(user_id),
            },
        )
        db.session.commit()
        return StepOutcome(user=user)
    throttle.reserve(email, client)
    record_sign_in_outcome("failed", email=email, user=user, reason="second factor")
    db.session.commit()
    return StepOutcome(reason="second_factor")


def complete_sign_in(user: User) -> None:
    """Start this browser's session: end the one it had (a copy of the old cookie stops
    working), make a new server-side record, record the success."""
    start_write()
    sessions.end_current()
    sessions.end_token((session.get("pending") or {}).get("previous_sid"))
    user = db.session.get(User, user.id)
    token = sessions.create(user.id)
    account = ensure_account(user)
    account.last_sign_in_at = now_epoch()
    record_sign_in_outcome("succeeded", email=user.email, user=user)
    db.session.commit()
    # A fresh cookie session: nothing from before (a planted value, the pending state) survives.
    session.clear()
    login_user(user)
    session.permanent = True
    session["sid"] = token
    session["signed_in_at"] = now_epoch()


def ensure_account(user: User) -> AdminAccount:
    """The user's account row, made for a platform admin who has none yet (caller commits)."""
    if user.account is None:
        user.account = AdminAccount(
            user_id=user.id, role="admin" if user.role == "admin" else "viewer"
        )
        db.session.add(user.account)
    return user.account


def enable_second_factor(user: User, secret: str, code: str) -> list[str] | None:
    """Turn on the user's second factor once ``code`` proves their app has ``secret``; returns
    the ten recovery codes (to show once), or None if the code is wrong."""
    start_write()
    user = db.session.get(User, user.id)
    account = ensure_account(user)
    codes = second_factor.enable(account, secret, code)
    if codes is None:
        db.session.rollback()
        return None
    record(
        "second_factor_enrolled",
        "account",
        user.id,
        actor=Actor.for_user(user),
        metadata={"email": user.email, "address": client_address()},
    )
    db.session.commit()
    return codes


def end_session(user: User) -> None:
    """Sign this browser out: its session record goes; the account's other sessions stay."""
    start_write()
    sessions.end_current()
    record(
        "signed_out",
        "account",
        user.id,
        actor=Actor.for_user(user),
        metadata={"email": user.email, "address": client_address()},
    )
    db.session.commit()
    logout_user()
    session.clear()


@login_manager.user_loader
def load_session_user(session_id: str) -> User | None:
    """The signed-in user, if the cookie's token and its server-side session are still good.
    An idle session ends with a message on the sign-in page."""
    user_id, _, token = session_id.partition(":")
    user = db.session.get(User, user_id)
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    if now_epoch() - session.get("signed_in_at", 0) > SESSION_MAX_SECONDS:
        return None  # an absolute limit: activity does not extend a session past 8 hours
    state = sessions.check(user_id)
    if state == "idle":
        session.clear()
        g.session_ended_idle = True
        return None
    if state != "ok":
        return None
    return user


# -- Passwords and accounts from the command line ----------------------------------------------


def check_email(email: str) -> str:
    """The normalised email, or AdminError saying what is wrong."""
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise AdminError(f"invalid email: {exc}") from None
    if len(email) > EMAIL_MAX:
        raise AdminError(f"invalid email: at most {EMAIL_MAX} characters")
    return normalise_email(email)


def check_new_admin(email: str, password: str, name: str = "") -> str:
    """The normalised email, or AdminError saying what is wrong with it or the password."""
    email = check_email(email)
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise AdminError(problem)
    return email


def count_active_admins(exclude_user_id: str | None = None) -> int:
    """Accounts that are admins now (platform admins whose account, if any, is an enabled
    admin account)."""
    query = (
        sa.select(sa.func.count(User.id))
        .outerjoin(AdminAccount, AdminAccount.user_id == User.id)
        .where(
            User.role == "admin",
            sa.or_(
                AdminAccount.user_id.is_(None),
                sa.and_(AdminAccount.role == "admin", AdminAccount.disabled_at.is_(None)),
            ),
        )
    )
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    return db.session.scalar(query) or 0


def set_role(user: User, role: str) -> None:
    """Give the user this dashboard role (caller commits). An admin here is an admin of the
    platform too (the original system's rule for admin pages); a viewer keeps the platform role
    they have."""
    account = ensure_account(user)
    account.role = role
    if role == "admin":
        user.role = "admin"


def create_or_promote_admin(
    email: str,
    password: str,
    name: str | None = None,
    *,
    role: str = "admin",
    must_change_password: bool = False,
    actor: Actor | None = None,
) -> tuple[User, str]:
    """Create an account, give an existing user one, or set an account's password and role;
    returns the user and what happened: "created", "promoted" or "updated". Ends the user's
    sessions (a new password). Refuses to demote the last admin."""
    if role not in ("admin", "viewer"):
        raise AdminError("the role must be admin or viewer")
    if name is not None and (len(name) > NAME_MAX or not name.strip()):
        raise AdminError(f"the name must be 1 to {NAME_MAX} characters")
    email = check_new_admin(email, password, name or "")
    start_write()
    user = _user_by_email(email)
    outcome = "created" if user is None else "updated" if user.has_dashboard_access else "promoted"
    if user is None:
        user = User(email=email, name=name or email.split("@")[0])
        db.session.add(user)
        db.session.flush()
    elif name:
        user.name = name
    if user.is_admin and role != "admin" and count_active_admins(exclude_user_id=user.id) == 0:
        raise AdminError("this is the last admin: make another admin first")
    set_role(user, role)
    account = user.account
    account.disabled_at = None
    account.must_change_password = must_change_password
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()  # a new password ends the old sessions
    sessions.end_all(user.id)
    record(
        "account_created" if outcome == "created" else "account_changed",
        "account",
        user.id,
        actor=actor or Actor("flask create-admin"),
        metadata={"email": user.email, "role": role, "password": "set"},
    )
    db.session.commit()
    return user, outcome


def bootstrap_admin(email: str = "admin@example.com") -> tuple[User, str] | None:
    """On a database without any admin, create one with a random password (returned once),
    which it must replace at its first sign-in."""
    if db.session.scalar(sa.select(User.id).where(User.role == "admin").limit(1)):
        return None
    password = secrets.token_urlsafe(15)  # 20 characters
    user, _ = create_or_promote_admin(
        email,
        password,
        name="Admin",
        must_change_password=True,
        actor=Actor("flask bootstrap-admin"),
    )
    return user, password


@dataclass(frozen=True)
class PasswordProblem:
    field: str  # "current" or "password"
    message: str


def set_own_password(user: User, current: str | None, new: str) -> PasswordProblem | None:
    """Change the user's password; ``current`` is required unless None is passed by a caller
    that has just checked it (the first-sign-in step). Returns the problem, or None when done.
    Ends the user's other sessions (the caller keeps or starts this browser's)."""
    if current is not None and not verify_password(user.password_hash, current):
        return PasswordProblem("current", gettext("The current password is not right."))
    problem = password_problem(new, email=user.email, name=user.name)
    if problem:
        return PasswordProblem("password", problem)
    if verify_password(user.password_hash, new):
        return PasswordProblem(
            "password", gettext("Choose a password different from the current one.")
        )
    new_hash = hash_password(new)
    this_session = sessions.current_record_id()
    start_write()
    user = db.session.get(User, user.id)
    user.password_hash = new_hash
    account = ensure_account(user)
    account.must_change_password = False
    sessions.end_all(user.id, except_id=this_session)
    record(
        "password_changed",
        "account",
        user.id,
        actor=Actor.for_user(user),
        metadata={"email": user.email, "address": client_address()},
    )
    db.session.commit()
    return None
