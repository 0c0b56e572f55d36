"""The second factor: TOTP (RFC 6238, pyotp) and single-use recovery codes.

- Secrets are 160 random bits (RFC 4226's recommended length), base32, 30-second steps, six
  digits, SHA-1: what every authenticator app reads from an ``otpauth://`` QR code.
- A code is accepted for the current step or one step either side (clock drift), and never for
  a step at or before the last one accepted (``totp_last_step``): a code cannot be replayed
  within its window, nor can an older one be used after a newer.
- The QR code is an SVG drawn on the server by segno (no JavaScript, no inline style: CSP
  unchanged).
- Recovery codes: ten, each 80 random bits shown as four groups of four base32 characters.
  Stored as SHA-256, not Argon2: a slow hash protects low-entropy secrets that people choose;
  80 random bits cannot be guessed against even a fast hash (2^80 tries), and looking a code up
  by its hash needs no per-code comparison (nothing to time). A used code is marked used.
"""

import base64
import hashlib
import io
import secrets
from dataclasses import dataclass

import pyotp
import segno
import sqlalchemy as sa
from flask_babel import gettext
from markupsafe import Markup

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models import AdminAccount, RecoveryCode

ISSUER = "Billing Admin"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
RECOVERY_CODE_BYTES = 10  # 80 bits: 16 base32 characters


def new_secret() -> str:
    return pyotp.random_base32(32)  # 32 base32 characters: 160 bits


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The URI as inline SVG markup: paths with fill/stroke attributes (no style attribute, so
    the CSP's default style-src allows it); segno escapes the title."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=5,
        border=4,
        title=title,
        svgclass="qr-code",
        lineclass=None,
        dark="#000",
        light="#fff",
    )
    return out.getvalue().decode()


@dataclass(frozen=True)
class Enrolment:
    """What an enrolment page shows: the QR code, and the secret to type in by hand."""

    qr_svg: Markup
    secret_groups: str


def enrolment(email: str, secret: str) -> Enrolment:
    svg = qr_svg(provisioning_uri(secret, email), gettext("QR code for your authenticator app"))
    return Enrolment(
        qr_svg=Markup(svg),
        secret_groups=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    )


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def matching_step(secret: str, code: str, *, after_step: int | None) -> int | None:
    """The time step ``code`` is valid for (now, or one step either side), if any and later
    than ``after_step``."""
    code = normalise_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = now_epoch() // STEP_SECONDS
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_code(account: AdminAccount, code: str) -> bool:
    """Check a TOTP code against the account and, if good, remember its step (caller commits)."""
    if account.totp_secret is None:
        return False
    step = matching_step(account.totp_secret, code, after_step=account.totp_last_step)
    if step is None:
        return False
    account.totp_last_step = step
    return True


def _hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def new_recovery_codes(user_id: str) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them (shown once)."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode()
        code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
        db.session.add(RecoveryCode(user_id=user_id, code_hash=_hash_code(code)))
        codes.append(code)
    return codes


def looks_like_recovery_code(code: str) -> bool:
    return len(normalise_code(code)) == 16


def use_recovery_code(user_id: str, code: str) -> bool:
    """Mark an unused recovery code of the user used; False if there is none (caller commits)."""
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _hash_code(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now_epoch())
    )
    return bool(used.rowcount)


def recovery_codes_left(user_id: str) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def enable(account: AdminAccount, secret: str, first_code: str) -> list[str] | None:
    """Turn the second factor on with the secret the account's app scanned, once its first code
    is right; returns the recovery codes, or None if the code is wrong (caller commits)."""
    step = matching_step(secret, first_code, after_step=None)
    if step is None:
        return None
    account.totp_secret = secret
    account.totp_enabled_at = now_epoch()
    account.totp_last_step = step
    return new_recovery_codes(account.user_id)


def disable(account: AdminAccount) -> None:
    """Remove the second factor and its recovery codes (caller commits)."""
    account.totp_secret = None
    account.totp_enabled_at = None
    account.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == account.user_id))
