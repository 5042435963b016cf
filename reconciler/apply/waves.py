"""How a DeploymentSet's devices are split into waves (pure).

`immediate`: one wave, everything in flight at once. `rolling`: a sliding window of
`max_parallel` devices in flight; waves are the notional chunks of `max_parallel` in
start order (used for `current_wave` and reporting). `canary`: wave 1 holds the canary
devices (`canary_count`, else `canary_percent` of the set, at least one); the rest follow
in chunks of `max_parallel` (all at once when 0) after promotion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.model.plan import RolloutSpec


@dataclass(frozen=True)
class WavePlan:
    waves: tuple[tuple[str, ...], ...]  # device names, in start order
    window: int  # devices in flight at once
    canary: tuple[str, ...] = ()  # wave 1 when the strategy is canary

    def wave_of(self, device: str) -> int:
        for i, wave in enumerate(self.waves, start=1):
            if device in wave:
                return i
        raise KeyError(device)


def canary_size(spec: RolloutSpec, total: int) -> int:
    if total == 0:
        return 0
    if spec.canary_count:
        n = spec.canary_count
    elif spec.canary_percent:
        n = math.ceil(total * spec.canary_percent / 100.0)
    else:
        n = 1
    return max(1, min(total, n))


def _chunks(devices: Sequence[str], size: int) -> list[tuple[str, ...]]:
    size = size if size > 0 else max(1, len(devices))
    return [tuple(devices[i : i + size]) for i in range(0, len(devices), size)]


def plan_waves(spec: RolloutSpec, devices: Sequence[str]) -> WavePlan:
    devices = list(devices)
    n = len(devices)
    if n == 0:
        return WavePlan(waves=(), window=0)
    if spec.strategy == "rolling":
        window = spec.max_parallel if spec.max_parallel > 0 else n
        return WavePlan(waves=tuple(_chunks(devices, window)), window=window)
    if spec.strategy == "canary":
        k = canary_size(spec, n)
        canary = tuple(devices[:k])
        rest = devices[k:]
        # The canaries go out together; `window` applies to the waves after promotion.
        window = spec.max_parallel if spec.max_parallel > 0 else max(1, len(rest))
        return WavePlan(
            waves=(canary, *_chunks(rest, window)) if rest else (canary,), window=window, canary=canary
        )
    return WavePlan(waves=(tuple(devices),), window=n)
