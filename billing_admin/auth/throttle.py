"""Sign-in throttling that a stranger cannot turn against a real admin (issue 15, finding 1).

The old rule (five failures in 15 minutes lock the email for 15 minutes) let anyone keep an
admin out for ever by sending five wrong passwords every quarter of an hour. Now there are two
layers, and neither refuses the admin's own browser because of someone else's guesses:

1. **Per account, a progressive delay** (here; counted in the database, so every worker and
   restart sees it). Failures for an email in the last hour (a wrong password or a wrong
   second-factor code, from any client) are counted; the first ``FREE_FAILURES`` cost nothing,
   then each attempt must wait ``2 ** (n - FREE_FAILURES)`` seconds after the last failure, at
   most ``MAX_DELAY_SECONDS``. Attempts refused while waiting are not counted. The delay only
   applies to clients that are not the account owner's:

   - a browser holding this account's **device cookie** (set at each complete sign-in, valid
     90 days) is never delayed;
   - a **client address that has not failed** for this account in the hour is not delayed,
     unless the account has had ``ACCOUNT_CEILING`` failures in the hour (guesses spread over
     many addresses), when only device cookies pass. That caps guessing at about 100 an hour
     per account, whatever the number of addresses (ASVS 4.0 2.2.1's figure).

2. **Per client address, Flask-Limiter** (``SIGN_IN_CLIENT_LIMIT``, failed steps only; a browser
   with a valid device cookie is exempt), in memory or in Redis across workers.

An attempt is counted *before* its password is checked (``reserve``, a short write), and the
count is removed if it succeeds (``settle``): a burst of simultaneous guesses cannot all pass
the check before any is counted, and the slow Argon2 check holds no lock (finding 2).
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import SignInFailure
from billing_admin.transactions import lock_for

WINDOW_SECONDS = 60 * 60
FREE_FAILURES = 5
MAX_DELAY_SECONDS = 5 * 60
ACCOUNT_CEILING = 100
DEVICE_COOKIE_DAYS = 90
DEVICE_COOKIE_SALT = "billing-admin device cookie"


def delay_after(failures: int) -> int:
    """Seconds to wait after the last of ``failures`` failures: 0, 0, 0, 0, 0, 1, 2, 4, ..., 300."""
    if failures < FREE_FAILURES:
        return 0
    return min(2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS)


@dataclass(frozen=True)
class Throttle:
    """Whether an attempt may go ahead now; if not, how many seconds until it may."""

    wait_seconds: int = 0
    trusted_by: str = ""  # "device", "clean client" or "" (the delay applied)


def check(email: str, client: str | None, *, device_user_id: str | None, user_id: str | None):
    """The throttle for an attempt on ``email`` from ``client``, in the caller's transaction
    (which has taken the email's lock: see ``lock``)."""
    now = now_epoch()
    if user_id is not None and device_user_id == user_id:
        return Throttle(trusted_by="device")
    since = now - WINDOW_SECONDS
    account_failures, last_failure = db.session.execute(
        sa.select(sa.func.count(SignInFailure.id), sa.func.max(SignInFailure.created_at)).where(
            SignInFailure.email == email, SignInFailure.created_at > since
        )
    ).one()
    if account_failures < ACCOUNT_CEILING:
        client_failures = db.session.scalar(
            sa.select(sa.func.count(SignInFailure.id)).where(
                SignInFailure.email == email,
                SignInFailure.client == client,
                SignInFailure.created_at > since,
            )
        )
        if not client_failures:
            return Throttle(trusted_by="clean client")
        wait = (last_failure or 0) + delay_after(account_failures) - now
        return Throttle(wait_seconds=max(0, wait))
    oldest_counted = db.session.scalar(
        sa.select(SignInFailure.created_at)
        .where(SignInFailure.email == email, SignInFailure.created_at > since)
        .order_by(SignInFailure.created_at.desc())
        .offset(ACCOUNT_CEILING - 1)
        .limit(1)
    )
    # At the ceiling: wait until enough failures age out of the hour, and the delay.
    wait = max(
        (oldest_counted or now) + WINDOW_SECONDS - now + 1,
        (last_failure or 0) + MAX_DELAY_SECONDS - now,
    )
    return Throttle(wait_seconds=max(1, wait))


def lock(email: str) -> None:
    """One throttle check at a time per email, across workers (the caller has started a write)."""
    lock_for(f"sign-in:{email}")


def reserve(email: str, client: str | None) -> int:
    """Count an attempt as a failure before it is checked; returns the row's id for ``settle``.
    Failures too old to matter are dropped as we go, for every email."""
    now = now_epoch()
    db.session.execute(
        sa.delete(SignInFailure).where(SignInFailure.created_at <= now - WINDOW_SECONDS)
    )
    failure = SignInFailure(email=email, client=client, created_at=now)
    db.session.add(failure)
    db.session.flush()
    return failure.id


def settle_success(email: str, client: str | None, reservation: int) -> None:
    """The attempt succeeded: remove it, and this client's earlier failures for the email
    (a stranger's failures from elsewhere stay counted)."""
    db.session.execute(
        sa.delete(SignInFailure).where(
            sa.or_(
                SignInFailure.id == reservation,
                sa.and_(SignInFailure.email == email, SignInFailure.client == client),
            )
        )
    )


# -- The device cookie ---------------------------------------------------------------------------


def device_cookie_name() -> str:
    # __Host- in production, like the session cookie (config.py).
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    return "__Host-device" if secure else "device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_COOKIE_SALT)


def device_cookie_value(user_id: str) -> str:
    return _serializer().dumps({"u": user_id})


def device_user_id() -> str | None:
    """The account whose device cookie this browser holds, if the cookie is valid and recent."""
    value = request.cookies.get(device_cookie_name())
    if not value or len(value) > 512:
        return None
    try:
        data = _serializer().loads(value, max_age=DEVICE_COOKIE_DAYS * 86_400)
    except BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, str) else None


def has_device_cookie() -> bool:
    """For Flask-Limiter's ``exempt_when``: a browser that completed a sign-in here lately."""
    return device_user_id() is not None


def set_device_cookie(response, user_id: str) -> None:
    response.set_cookie(
        device_cookie_name(),
        device_cookie_value(user_id),
        max_age=DEVICE_COOKIE_DAYS * 86_400,
        path="/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
