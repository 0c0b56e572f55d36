"""What an account does for itself on /account: its sessions, its second factor and its time
zone. (Its password: auth/service.py's ``set_own_password``, shared with the first-sign-in
step; its language: i18n/service.py.)"""

from billing_admin.audit.service import Actor, record
from billing_admin.auth import second_factor, sessions
from billing_admin.auth.passwords import verify_password
from billing_admin.auth.service import client_address, ensure_account
from billing_admin.extensions import db
from billing_admin.models import AdminSession, User
from billing_admin.transactions import start_write
from billing_admin.zones import zone_name


def own_sessions(user: User) -> tuple[list[AdminSession], str | None]:
    """The user's live sessions, and which of them is this browser's."""
    return sessions.sessions_of(user.id), sessions.current_record_id()


def end_session(user: User, record_id: str) -> bool:
    """End one of the user's sessions (another browser, or this one)."""
    start_write()
    ended = sessions.end_one(user.id, record_id)
    if ended:
        record(
            "sessions_ended",
            "account",
            user.id,
            actor=Actor.for_user(user),
            metadata={"email": user.email, "sessions": 1, "address": client_address()},
        )
    db.session.commit()
    return ended


def end_other_sessions(user: User) -> int:
    """Sign out every other browser of the user; returns how many sessions ended."""
    this_one = sessions.current_record_id()
    start_write()
    ended = sessions.end_all(user.id, except_id=this_one)
    record(
        "sessions_ended",
        "account",
        user.id,
        actor=Actor.for_user(user),
        metadata={"email": user.email, "sessions": ended, "address": client_address()},
    )
    db.session.commit()
    return ended


def turn_off_second_factor(user: User, password: str) -> bool:
    """Remove the user's own second factor; the current password is asked again (a stolen
    session alone cannot remove it). False if the password is wrong."""
    if not verify_password(user.password_hash, password):
        return False
    start_write()
    user = db.session.get(User, user.id)
    second_factor.disable(ensure_account(user))
    record(
        "second_factor_reset",
        "account",
        user.id,
        actor=Actor.for_user(user),
        metadata={"email": user.email, "address": client_address()},
    )
    db.session.commit()
    return True


def set_time_zone(user: User, name: str | None) -> bool:
    """Remember the zone the user's pages show times in: an IANA name (``Europe/Moscow``,
    any case: stored as the tz database spells it), or None for the app's DISPLAY_TIMEZONE
    (issue 16). ValueError for a name that is no zone (zones.py); False if nothing changed.
    A platform admin without an account row gets one (auth/service.py ``ensure_account``)."""
    chosen = zone_name(name) if name else None
    if name and chosen is None:
        raise ValueError(f"not a time zone: {name!r}")
    start_write()
    user = db.session.get(User, user.id)
    account = ensure_account(user)
    if account.time_zone == chosen:
        db.session.rollback()
        return False
    account.time_zone = chosen
    db.session.commit()
    return True
