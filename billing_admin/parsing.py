"""Reading whole numbers from text typed by people or scripts (query strings, forms, settings).

One parser for all of them, so none can be crashed: ASCII digits only (``int()`` would accept
"٣" or "²"), at most 18 of them (beyond any value we store, and below Python's 4,300-digit limit).
"""

import re

MAX_DIGITS = 18
GROUP_SEPARATORS = " _,\u00a0\u202f"  # "1 000 000", "1_000_000", "1,000,000"
_PLAIN = re.compile(rf"-?[0-9]{{1,{MAX_DIGITS}}}")
_GROUPED = re.compile(r"-?[0-9]{1,3}(?:[ _,\u00a0\u202f][0-9]{3})+")


def whole_number(text: object, *, grouped: bool = False) -> int | None:
    """The integer ``text`` spells, or None. A leading minus is kept (the caller decides whether
    negatives are allowed, so it can say so); with ``grouped``, digits may be grouped by
    thousands."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    if not isinstance(text, str):
        return None
    text = text.strip()
    if _PLAIN.fullmatch(text):
        return int(text)
    if grouped and _GROUPED.fullmatch(text):
        digits = re.sub(f"[{GROUP_SEPARATORS}]", "", text)
        if len(digits.lstrip("-")) <= MAX_DIGITS:
            return int(digits)
    return None
