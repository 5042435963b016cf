"""`max_per_minute` across runs: a rollout often spans several applies (a resume after a crash or
a stop, the next maintenance window, `--promote` after a pause, `reconcile watch`), each a fresh
process and often a fresh clone. The platform is the state, so a run that begins writing counts
the starts the platform recorded for its rollout in the last minute, not only its own: two runs a
few seconds apart never start twice the limit in one minute.

The starts are read from the deployments the one-writer check (`guard.one_writer`) reads anyway,
so pacing costs no request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.apply.clock import Clock
from reconciler.apply.turns import paced
from reconciler.model import marker
from reconciler.model.live import LiveDeployment, parse_time

MINUTE = 60.0


def _started(d: LiveDeployment, rollout: str) -> bool:
    """A deployment this rollout wrote to a device (its rollback's are not starts)."""
    m = marker.parse(d.description)
    return m is not None and not m.is_rollback and m.rollout == rollout


async def recent_starts(
    rollout: str,
    deployments: Mapping[str, Sequence[LiveDeployment]],
    device_ids: Sequence[str],
    clock: Clock,
) -> list[float]:
    """When `rollout` started a device in the last minute, on the executor's clock (oldest
    first), from each device's deployments on the platform. A `created_at` ahead of the
    platform's clock counts as now: never later than a start this run could make."""
    now, utc = clock.now(), clock.utc()
    out: list[float] = []
    async for device_id in paced(device_ids):
        for d in deployments.get(device_id, ()):
            age = utc - parse_time(d.created_at).timestamp()
            if age < MINUTE and _started(d, rollout):
                out.append(now - max(0.0, age))
    return sorted(out)
