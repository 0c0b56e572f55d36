"""Rules about changing a plan that has subscribers (docs/original-system.md, "Admin rules")."""

from typing import Any

from flask_babel import gettext

from billing_admin.formatting import grouped, request_locale
from billing_admin.plans.labels import quota_key_label
from billing_admin.plans.spec import QUOTA_KEYS


class PlanRuleError(ValueError):
    """``str()`` is the original system's message (the API and commands say it word for word);
    a quota rule also names the ``quota`` key and its ``old`` and ``new`` values (``old`` None:
    unlimited), so a page can say it in its own words (page_message)."""

    def __init__(
        self,
        message: str,
        *,
        quota: str | None = None,
        old: int | None = None,
        new: int | None = None,
    ):
        super().__init__(message)
        self.quota, self.old, self.new = quota, old, new

    def page_message(self, field_label: str) -> str:
        """The quota rule as the plan form says it: the field as the page labels it ("Requests
        per period", not ``requests``) and the numbers grouped ("20,000" / "20 000")."""
        if self.quota is None or self.new is None:
            return str(self)
        return gettext(
            "%(field)s cannot go down from %(old)s to %(new)s while the plan has active "
            "subscriptions. Create a new plan instead.",
            field=field_label,
            old=gettext("unlimited") if self.old is None else grouped(self.old),
            new=grouped(self.new),
        )


def _quota(quotas: dict[str, Any] | None, key: str) -> int | None:
    return None if quotas is None else quotas.get(key)


def quota_decreases(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> list[tuple[str, int | None, int]]:
    """``(key, old, new)`` for each quota the change lowers; ``None`` means unlimited."""
    lowered = []
    for key in QUOTA_KEYS:
        before, after = _quota(old, key), _quota(new, key)
        if after is not None and (before is None or after < before):
            lowered.append((key, before, after))
    return lowered


def check_quota_change(
    old: dict[str, Any] | None, new: dict[str, Any] | None, active_subscriptions: int
) -> None:
    """Refuse lowering any quota while the plan has active subscriptions (the message is in the
    request's language; English in a command)."""
    if not active_subscriptions:
        return
    for key, before, after in quota_decreases(old, new):
        raise PlanRuleError(
            gettext(
                "Cannot decrease quota '%(quota)s' from %(old)s to %(new)s while plan has active "
                "subscriptions. Create a new plan instead.",
                quota=quota_key_label(key),
                old=gettext("unlimited") if before is None else _amount(before),
                new=_amount(after),
            ),
            quota=key,
            old=before,
            new=after,
        )


def _amount(quota: int) -> str:
    # English keeps the original system's message word for word ("from 20000 to 10000", and so
    # do commands, which run in English); other languages group digits as they write them.
    return str(quota) if request_locale().language == "en" else grouped(quota)
