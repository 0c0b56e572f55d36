"""Password hashing with Argon2id (argon2-cffi).

The default profile is argon2-cffi's RFC 9106 "low memory" one (t=3, 64 MiB, p=4), above
OWASP's minimum for Argon2id (t=2, 19 MiB, p=1). ``PASSWORD_HASH_PROFILE`` names another profile
of ``argon2.profiles`` (tests use ``CHEAPEST`` to stay fast). Verifying reads the parameters from
the stored hash, so changing the profile never locks anyone out; hashes are upgraded at sign-in.
"""

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import ngettext

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # bounds the work one sign-in can ask of the server


def _hasher() -> tuple[PasswordHasher, str]:
    """The app's hasher, and a hash to verify against when the email is unknown (so that case
    takes as long as a real one and does not reveal which emails exist)."""
    cached = current_app.extensions.get("password_hasher")
    if cached is None:
        profile = getattr(profiles, current_app.config["PASSWORD_HASH_PROFILE"])
        hasher = PasswordHasher.from_parameters(profile)
        cached = current_app.extensions["password_hasher"] = (hasher, hasher.hash("not in use"))
    return cached


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, in the request's language (English in a command)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return ngettext(
            "Password must be at least %(num)s character.",
            "Password must be at least %(num)s characters.",
            MIN_PASSWORD_LENGTH,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return ngettext(
            "Password must be at most %(num)s character.",
            "Password must be at most %(num)s characters.",
            MAX_PASSWORD_LENGTH,
        )
    return None


def hash_password(password: str) -> str:
    return _hasher()[0].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher, stand_in = _hasher()
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return hasher.verify(password_hash or stand_in, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher()[0].check_needs_rehash(password_hash)
