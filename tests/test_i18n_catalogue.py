"""The Russian catalogue holds every interface string, translated, and nothing else.

The strings are extracted from the code and templates the way `make messages` does (babel.cfg,
the same keywords), so a string marked for translation but missing from the catalogue, left
untranslated or fuzzy, or kept after the code stopped using it fails here with the fix to run.
(tests/test_i18n_pages.py checks the other half: that pages hold no unmarked English.)
"""

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext, ngettext, pgettext

from tests.helpers import make_app

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "billing_admin/translations/ru/LC_MESSAGES/messages.po"
# As the Makefile's `messages` target passes them to pybabel.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
FIX = "run `make messages`, translate in the .po, then `make translations`"


def outside_hidden_folders(path: str) -> bool:
    """As `make messages` (--ignore-dirs '.* __pycache__'): Babel's own default would also
    skip every folder starting with "_", such as templates/_macros."""
    name = Path(path).name
    return not (name.startswith(".") or name == "__pycache__")


def extracted() -> dict[tuple[str | tuple[str, str], str | None], list[str]]:
    """(msgid (a tuple for plurals), context) → where it is used."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str | tuple[str, str], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=outside_hidden_folders
    ):
        found.setdefault((message, context), []).append(f"{filename}:{lineno}")
    return found


def read_catalogue():
    with open(CATALOGUE, "rb") as po:
        return read_po(po, locale="ru")


@pytest.fixture(scope="module")
def catalogue():
    return {(m.id, m.context): m for m in read_catalogue() if m.id}


@pytest.fixture(scope="module")
def in_code():
    return extracted()


def test_the_code_marks_strings_and_the_catalogue_is_not_empty(in_code, catalogue):
    assert len(in_code) > 200 and len(catalogue) > 200


def test_every_string_in_the_code_is_in_the_catalogue(in_code, catalogue):
    missing = {msgid: where for msgid, where in in_code.items() if msgid not in catalogue}
    assert not missing, f"not in the catalogue ({FIX}): {missing}"


def test_the_catalogue_holds_no_string_the_code_no_longer_uses(in_code, catalogue):
    stale = sorted(str(msgid) for msgid in catalogue if msgid not in in_code)
    assert not stale, f"no longer in the code ({FIX}): {stale}"


def test_the_catalogue_keeps_no_obsolete_entries():
    """`#~` entries: `make messages` drops them, so a catalogue holding one was edited by hand
    or not updated."""
    assert not read_catalogue().obsolete, FIX


def test_every_string_is_translated_and_none_is_fuzzy(catalogue):
    forms = lambda message: message.string if message.pluralizable else (message.string,)  # noqa: E731
    untranslated = [m.id for m in catalogue.values() if not all(forms(m))]
    fuzzy = [m.id for m in catalogue.values() if m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"marked fuzzy, review them: {fuzzy}"


def test_plurals_have_russians_three_forms(catalogue):
    plurals = [m for m in catalogue.values() if m.pluralizable]
    assert plurals
    for message in plurals:
        assert len(message.string) == 3, message.id


def test_translations_keep_every_placeholder(catalogue):
    """A placeholder lost or misspelt in Russian would raise KeyError on the page."""
    for message in catalogue.values():
        ids = message.id if message.pluralizable else (message.id,)
        strings = message.string if message.pluralizable else (message.string,)
        expected = {name for text in ids for name in PLACEHOLDER.findall(text)}
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) <= expected, (message.id, text)
            # Singular forms may say "one" in words; every other form must show every value.
            if not message.pluralizable:
                assert set(PLACEHOLDER.findall(text)) == expected, (message.id, text)


def test_the_compiled_catalogue_is_the_current_one(catalogue):
    """What the app loads (the .mo that `make translations` builds) says what the .po says."""
    app = make_app("sqlite://")
    with app.test_request_context("/"), force_locale("ru"):
        for message in catalogue.values():
            ids = message.id if message.pluralizable else (message.id,)
            values = {name: f"<{name}>" for text in ids for name in PLACEHOLDER.findall(text)}
            if message.pluralizable:
                # 5 takes the third ("many") form; ngettext supplies num itself.
                values.pop("num", None)
                shown = ngettext(*message.id, 5, **values)
                expected = message.string[2] % {"num": 5, **values}
            else:
                if message.context:
                    shown = pgettext(message.context, message.id, **values)
                else:
                    shown = gettext(message.id, **values)
                expected = message.string % values if values else message.string
            assert shown == expected, message.id
