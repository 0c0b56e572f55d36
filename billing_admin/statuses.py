"""How subscription statuses read on the page, in the request's language.

Below every area (badges on the plan and subscriber pages, chart legends' neighbours, audit
entries); the raw values stay in URLs, query strings, the API and the CSV export.
"""

import functools

from flask_babel import lazy_gettext

from billing_admin.formatting import request_locale

# What a subscription status reads as on the pages (badges, status counts, the status filter,
# the charts' legends), in the request's language; the raw value stays in URLs, query strings,
# the API and the CSV export. Templates: the ``subscription_status_label`` filter
# (registered by the app factory).
STATUS_LABELS = {
    "active": lazy_gettext("active"),
    "trialing": lazy_gettext("trialing"),
    "past_due": lazy_gettext("past due"),
    "paused": lazy_gettext("paused"),
    "canceled": lazy_gettext("canceled"),
}


def status_label(status: str, language: str | None = None) -> str:
    """ "past_due" → "past due" / "просрочена"; an unknown value, as it reads. ``language``:
    the request's, when the caller has it at hand (formatting.py explains)."""
    label = _status_labels(language or str(request_locale())).get(status)
    return label if label is not None else status.replace("_", " ")


@functools.lru_cache(maxsize=8)
def _status_labels(language: str) -> dict[str, str]:
    # Translated once a language (a page shows a badge a row); called inside a request in
    # that language, so gettext answers in it.
    return {status: str(label) for status, label in STATUS_LABELS.items()}
