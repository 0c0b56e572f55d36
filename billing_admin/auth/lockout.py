"""Brute-force protection: 5 failed sign-ins for one email within 15 minutes lock that email
out for 15 minutes, counted from the fifth failure. Attempts refused while locked are not
counted, so an attacker cannot extend the lock forever; a successful sign-in clears the count.
The count lives in the database, so every worker process and restart sees it."""

import sqlalchemy as sa

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import SignInFailure

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
LOCKOUT_SECONDS = 15 * 60


def lockout_remaining(email: str) -> int:
    """Seconds until this email may try again; 0 when it is not locked."""
    recent = list(
        db.session.scalars(
            sa.select(SignInFailure.created_at)
            .where(SignInFailure.email == email)
            .order_by(SignInFailure.created_at.desc(), SignInFailure.id.desc())
            .limit(MAX_FAILURES)
        )
    )
    if len(recent) < MAX_FAILURES or recent[0] - recent[-1] > WINDOW_SECONDS:
        return 0
    return max(0, recent[0] + LOCKOUT_SECONDS - now_epoch())


def record_failure(email: str) -> None:
    now = now_epoch()
    # Failures older than any window that could still matter are dropped as we go, for every
    # email, so the table holds at most the last half hour's failures.
    db.session.execute(
        sa.delete(SignInFailure).where(
            SignInFailure.created_at < now - WINDOW_SECONDS - LOCKOUT_SECONDS
        )
    )
    db.session.add(SignInFailure(email=email, created_at=now))


def clear_failures(email: str) -> None:
    db.session.execute(sa.delete(SignInFailure).where(SignInFailure.email == email))
