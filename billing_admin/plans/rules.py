"""Rules about changing a plan that has subscribers (docs/original-system.md, "Admin rules")."""

from typing import Any

from flask_babel import gettext

from billing_admin.formatting import grouped, request_locale
from billing_admin.plans.labels import quota_key_label
from billing_admin.plans.spec import QUOTA_KEYS


class PlanRuleError(ValueError):
    pass


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
            )
        )


def _amount(quota: int) -> str:
    # English keeps the original system's message word for word ("from 20000 to 10000", and so
    # do commands, which run in English); other languages group digits as they write them.
    return str(quota) if request_locale().language == "en" else grouped(quota)
