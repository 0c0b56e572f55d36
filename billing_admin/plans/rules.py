"""Rules about changing a plan that has subscribers (REFERENCE.md, "Admin rules")."""

from typing import Any

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
    """Refuse lowering any quota while the plan has active subscriptions."""
    if not active_subscriptions:
        return
    for key, before, after in quota_decreases(old, new):
        shown = "unlimited" if before is None else before
        raise PlanRuleError(
            f"Cannot decrease quota '{key}' from {shown} to {after} while plan has active "
            "subscriptions. Create a new plan instead."
        )
