"""Text that cannot restyle the page around it (docs/forms.md, "Text that cannot disguise
itself").

A piece of user-supplied text shown on a page (a plan's name, a feature, an email, an audit
value) is isolated from the product's own words, so that right-to-left letters or a direction
control in it (a name with an unclosed U+202E RIGHT-TO-LEFT OVERRIDE, stored before such
characters were refused, or written to the database by another program) cannot reverse or
reorder the text after it:

- in HTML text, ``bdi`` wraps it in ``<bdi>`` (the element's direction is its own text's);
- where no element can go (a page title, an attribute, a message built by gettext, a chart's
  text alternative), ``isolate`` wraps it in U+2068 FIRST STRONG ISOLATE … U+2069 POP
  DIRECTIONAL ISOLATE, the same isolation in characters (a PDI also ends any embedding or
  override left open inside it).

Text whose every character is left-to-right or neutral (Latin, Cyrillic, digits,
punctuation) renders the same isolated or not in our left-to-right pages, so it is left as it
is: the markup stays unchanged for the common case, and isolation is added wherever a
character could reorder its surroundings.
"""

import unicodedata
from typing import Any

from markupsafe import Markup, escape

FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"
# Bidi classes that can reorder text around them: right-to-left letters, Arabic numbers and
# every explicit embedding, override and isolate control.
_REORDERING = frozenset(
    {"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
)


def needs_isolation(text: str) -> bool:
    return any(unicodedata.bidirectional(char) in _REORDERING for char in text)


def isolate(value: Any) -> Any:
    """``value`` wrapped in FSI … PDI when it could reorder its surroundings; else as it is
    (None stays None, so ``value or "—"`` still works)."""
    if not isinstance(value, str) or not needs_isolation(value):
        return value
    return f"{FIRST_STRONG_ISOLATE}{value}{POP_DIRECTIONAL_ISOLATE}"


def bdi(value: Any) -> Markup:
    """``value`` escaped, in ``<bdi>`` when it could reorder its surroundings."""
    if value is None:
        return Markup("")
    text = str(value)
    if not needs_isolation(text):
        return escape(text)
    return Markup("<bdi>%s</bdi>") % text
