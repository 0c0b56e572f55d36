"""Password hashing with Argon2id (argon2-cffi).

The default profile is argon2-cffi's RFC 9106 "low memory" one (t=3, 64 MiB, p=4), above
OWASP's minimum for Argon2id (t=2, 19 MiB, p=1). ``PASSWORD_HASH_PROFILE`` names another profile
of ``argon2.profiles`` (tests use ``CHEAPEST`` to stay fast). Verifying reads the parameters from
the stored hash, so changing the profile never locks anyone out; hashes are upgraded at sign-in.
"""

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext, ngettext
from zxcvbn import zxcvbn

from billing_admin.formatting import grouped

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # bounds the work one sign-in can ask of the server
# zxcvbn's scores run 0-4; 3 is "safely unguessable: moderate protection from offline
# slow-hash scenario" (about 10^8 guesses or more), its authors' advice for a password policy.
MIN_STRENGTH_SCORE = 3
# zxcvbn's matching grows faster than linearly with length; it looks at the first 72 characters
# (its own default), which is plenty to judge a password.
STRENGTH_CHECKED_LENGTH = 72
# Words anyone would try first against this site, besides the account's own email and name.
SITE_WORDS = ("billing", "admin", "billingadmin", "billing admin", "dashboard", "password")


def _hasher() -> tuple[PasswordHasher, str]:
    """The app's hasher, and a hash to verify against when the email is unknown (so that case
    takes as long as a real one and does not reveal which emails exist)."""
    cached = current_app.extensions.get("password_hasher")
    if cached is None:
        profile = getattr(profiles, current_app.config["PASSWORD_HASH_PROFILE"])
        hasher = PasswordHasher.from_parameters(profile)
        cached = current_app.extensions["password_hasher"] = (hasher, hasher.hash("not in use"))
    return cached


def context_words(email: str = "", name: str = "") -> list[str]:
    """What a guesser knows about an account: its email, the parts of it, its name."""
    local, _, domain = email.lower().partition("@")
    words = [email.lower(), local, *domain.split("."), name.lower(), *name.lower().split()]
    return [word for word in dict.fromkeys(words) if len(word) >= 3] + list(SITE_WORDS)


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """What is wrong with a new password, in the request's language (English in a command).

    The one rule for every place a password is set (the command line, set-password links, the
    account page): 12 to 1,024 characters, not only whitespace, and not guessable: zxcvbn (the
    Python port of Dropbox's estimator, with its lists of common passwords, names and words)
    must score it 3 or more with the account's email and name and this site's words as known
    context, so ``aaaaaaaaaaaa``, ``123456789012`` and ``admin@example.com1`` are refused."""
    if not password.strip():
        return gettext("Password must not be only spaces.")
    if len(password) < MIN_PASSWORD_LENGTH:
        return ngettext(
            "Password must be at least %(count)s character.",
            "Password must be at least %(count)s characters.",
            MIN_PASSWORD_LENGTH,
            count=grouped(MIN_PASSWORD_LENGTH),
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return ngettext(
            "Password must be at most %(count)s character.",
            "Password must be at most %(count)s characters.",
            MAX_PASSWORD_LENGTH,
            count=grouped(MAX_PASSWORD_LENGTH),
        )
    strength = zxcvbn(
        password[:STRENGTH_CHECKED_LENGTH],
        user_inputs=context_words(email, name),
        max_length=STRENGTH_CHECKED_LENGTH,
    )
    if strength["score"] < MIN_STRENGTH_SCORE:
        if any(match.get("dictionary_name") == "user_inputs" for match in strength["sequence"]):
            return gettext(
                "Password is too easy to guess: it is built on your email, your name or this "
                "site's name. Use a few unrelated words."
            )
        return gettext(
            "Password is too easy to guess (a common password, a pattern or a repeated "
            "character). Use a few unrelated words."
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
