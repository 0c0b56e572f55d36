"""The interface's languages: which one a request is answered in, and the switcher.

Order: the admin's own choice (saved on their account by the switcher in the navigation), else
the browser's ``Accept-Language``, else English. The JSON API always answers in English: it
mirrors the original system's messages, and scripts match on them. CLI output is English too
(a command has no request, so the default locale applies).
"""


def N_(message: str) -> str:
    """Marks a message for translation where it is defined (pybabel extracts ``N_``) and leaves
    it English: the JSON API sends it as it is, a page passes it through ``gettext``."""
    return message
