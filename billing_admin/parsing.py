"""Reading whole numbers from text typed by people or scripts (query strings, forms, settings).

One parser for all of them, so none can be crashed: ASCII digits only (``int()`` would accept
"٣" or "²"), at most 18 of them (beyond any value we store, and below Python's 4,300-digit limit).
"""

import re
from decimal import Decimal

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)
from flask_babel import gettext

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


# -- Numbers typed into a form, in the page's language (Babel) ---------------------------------

# What a person may type: ASCII digits, a sign, the two separators and the spaces people group
# with ("1 490,50" with an ordinary, a no-break or a narrow no-break space; "1_000" too).
# Anything else ("1e5", "٣", "0x10") is refused before Babel sees it.
_SPACES = " \u00a0\u202f_"
_TYPED = re.compile(r"[-+\u2212]?[0-9.,\u00a0\u202f _]{1,40}")
_SPACED_GROUPS = re.compile(r"[0-9]{1,3}(?:[\u00a0\u202f _][0-9]{3})+(?:[.,][0-9]*)?")
EXAMPLE_PRICE = Decimal("1490.50")
EXAMPLE_WHOLE = 5_000_000


class NumberNotUnderstood(ValueError):
    """The text is no number as the page's language writes one. ``str()`` is a message for the
    person, in the request's language, showing how to write it."""


def parse_number(text: str, locale: Locale | str, *, whole: bool = False) -> Decimal:
    """The number ``text`` spells as ``locale`` writes numbers (Babel's ``parse_decimal`` with
    ``strict=True``): English "1,490.50", "1,490", "1490.5"; Russian "1 490,50" with an
    ordinary, no-break (U+00A0) or narrow no-break (U+202F) space. Spaces group digits in any
    language. A point is read as the decimal sign in Russian too ("490.50"), unless it is
    followed by exactly three digits, which could be either ("1.490": 1,49 or 1 490?).

    With ``whole``, the number must be a whole one and may have no decimal sign at all ("5.000"
    is refused rather than read as 5 or 5,000).

    Raises NumberNotUnderstood (its message shows how the language writes such a number, and
    the readings Babel suggests for an ambiguous one). The sign is kept: ranges are the
    caller's rules."""
    locale = Locale.parse(locale) if isinstance(locale, str) else locale
    group, point = get_group_symbol(locale), get_decimal_symbol(locale)
    typed = text.strip()
    if not _TYPED.fullmatch(typed):
        raise NumberNotUnderstood(_how_to_write(locale, whole))
    sign = "-" if typed[0] in "-\u2212" else ""
    digits = typed.lstrip("+-\u2212")
    if _SPACED_GROUPS.fullmatch(digits):
        # Grouped by spaces: unambiguous in any language; the space becomes the language's
        # group sign so that Babel checks the groups.
        digits = re.sub(f"[{_SPACES}]", group if group.strip() else "\u00a0", digits)
        if not group.strip():
            group = "\u00a0"
    elif any(char in _SPACES for char in digits):
        raise NumberNotUnderstood(_how_to_write(locale, whole))
    if point != "." and "." in digits and point not in digits:
        # "490.50" typed on a Russian page: a decimal point, unless it could be a group sign.
        head, _, tail = digits.rpartition(".")
        if "." in head or len(tail) == 3 or group == ".":
            raise NumberNotUnderstood(_how_to_write(locale, whole, digits))
        digits = f"{head}{point}{tail}"
    if whole and (point in digits or "." in digits):
        raise NumberNotUnderstood(_how_to_write(locale, whole))
    try:
        number = parse_decimal(digits, locale=locale, strict=True)
    except NumberFormatError as error:
        raise NumberNotUnderstood(
            _how_to_write(locale, whole, suggestions=getattr(error, "suggestions", None) or [])
        ) from None
    if not number.is_finite():
        raise NumberNotUnderstood(_how_to_write(locale, whole))
    number = -number if sign else number
    return abs(number) if number.is_zero() else number  # "-0" is 0


def number_for_input(number: Decimal | int, locale: Locale | str, *, places: int = 0) -> str:
    """A number as the form shows it for editing, grouped the language's way and read back by
    parse_number: 5000000 → "5,000,000" / "5 000 000" (no-break spaces); with ``places=2``,
    1490.5 → "1,490.50" / "1 490,50"."""
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(number, format=pattern, locale=locale, decimal_quantization=True)


def _how_to_write(
    locale: Locale, whole: bool, typed: str | None = None, suggestions: list[str] | None = None
) -> str:
    example = number_for_input(
        EXAMPLE_WHOLE if whole else EXAMPLE_PRICE, locale, places=0 if whole else 2
    )
    readings = list(suggestions or [])
    if typed is not None:  # "1.490" on a Russian page: 1,49 or 1 490
        head, _, tail = typed.rpartition(".")
        plain = (head + tail).replace(".", "")
        if plain.isdigit():
            readings = [number_for_input(int(plain), locale)]
            if "." not in head and head.isdigit():
                readings.append(f"{head}{get_decimal_symbol(locale)}{tail}")
    if whole:
        readings = [r for r in readings if get_decimal_symbol(locale) not in r]
    if len(readings) >= 2:
        return gettext(
            "Write numbers like %(example)s. Did you mean %(first)s or %(second)s?",
            example=example,
            first=readings[0],
            second=readings[1],
        )
    if readings:
        return gettext(
            "Write numbers like %(example)s. Did you mean %(first)s?",
            example=example,
            first=readings[0],
        )
    if whole:
        return gettext("Write a whole number, like %(example)s.", example=example)
    return gettext("Write numbers like %(example)s.", example=example)
