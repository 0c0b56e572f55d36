"""Where to go after sign-in: ``next`` only when it is a path on this site."""

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a relative path on this site, else ``default``.

    Refused: anything with a scheme or host (``https://x``, ``https:x``, ``javascript:``),
    protocol-relative ``//x``, backslashes (browsers read ``/\\x`` as ``//x``), and control
    characters (browsers drop tabs and newlines, so ``/\\t/x`` becomes ``//x``).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
