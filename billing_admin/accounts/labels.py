"""Account vocabularies as they read on pages (roles, statuses, a session's browser)."""

import re

from flask_babel import lazy_gettext

ROLE_LABELS = {"admin": lazy_gettext("admin"), "viewer": lazy_gettext("viewer")}
STATUS_LABELS = {
    "active": lazy_gettext("active"),
    "disabled": lazy_gettext("disabled"),
    "awaiting password": lazy_gettext("awaiting password"),
}
# Browser and system names, looked for in this order in a User-Agent (Edge and Opera also say
# "Chrome", Chrome also says "Safari").
BROWSERS = ("Edg", "OPR", "Firefox", "HeadlessChrome", "Chrome", "Chromium", "Safari")
BROWSER_NAMES = {"Edg": "Edge", "OPR": "Opera", "HeadlessChrome": "Chrome"}
SYSTEMS = ("Windows", "Android", "iPhone", "iPad", "Mac OS X", "Linux")


def account_role_label(role: str | None) -> str:
    return str(ROLE_LABELS.get(role or "", role or "—"))


def account_status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def browser_name(user_agent: str) -> str:
    """A short name for a User-Agent string ("Firefox on Linux"), else the string itself."""
    found = next((b for b in BROWSERS if re.search(rf"\b{b}/", user_agent)), None)
    system = next((s for s in SYSTEMS if s in user_agent), None)
    if found is None:
        return user_agent or "—"
    name = BROWSER_NAMES.get(found, found)
    return f"{name} · {system}" if system else name


TEMPLATE_FILTERS = {
    "account_role_label": account_role_label,
    "account_status_label": account_status_label,
    "browser_name": browser_name,
}
