"""The blast-radius limit: an apply that would change more devices than the project allows
refuses before it writes anything, unless the person applying names the number they accept."""

from __future__ import annotations

from reconciler.errors import ReconcileError
from reconciler.model.plan import Plan


def check_blast_radius(plan: Plan, limit: int, allow_large: int | None) -> None:
    """`limit` is the project's `limits.max_devices_per_apply` now (0 = none); `allow_large`
    is `--allow-large N`, accepted when N covers the plan's count (a number reviewed, not a
    blanket override)."""
    n = plan.devices_to_change
    if not limit or n <= limit:
        return
    if allow_large is not None and allow_large >= n:
        return
    given = f" (--allow-large {allow_large} is fewer)" if allow_large is not None else ""
    raise ReconcileError(
        f"this apply would change {n} devices, more than limits.max_devices_per_apply ({limit}) "
        f"in reconcile.yaml{given}",
        hint=f"review the plan, then apply with --allow-large {n}, or split the change",
    )
