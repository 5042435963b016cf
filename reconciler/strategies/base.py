"""What every strategy provides, and the sliding window most of them share (explicit waves are
in `waves`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from reconciler.model.rollout import (
    DeviceGroups,
    Progress,
    RolloutPlan,
    RolloutSpec,
    Step,
    StepKind,
    Wave,
    WaveKind,
)

# Problems a strategy finds in its options: (path under `rollout`, message).
OptionProblem = tuple[tuple[str, ...], str]


class Strategy(Protocol):
    name: str
    # Its own rollout fields: name -> JSON Schema of the value, with "default" where it has one.
    options: Mapping[str, Mapping[str, Any]]
    uses_health_check: bool  # False: a device is done once deployed (no min_healthy_time wait)
    exclusive: tuple[tuple[str, ...], ...]  # options of which a rollout sets at most one

    def problems(self, options: Mapping[str, Any]) -> list[OptionProblem]: ...

    def effective(self, spec: RolloutSpec) -> RolloutSpec: ...

    def plan(
        self,
        spec: RolloutSpec,
        devices: Sequence[str],
        done: Sequence[str] = (),
        groups: DeviceGroups | None = None,
    ) -> RolloutPlan:
        """Waves for `devices` (to write to, in name order); `done` already run the content;
        `groups` names each device's groups (its own and those above it), for selectors."""
        ...

    def describe(self, plan: RolloutPlan) -> str: ...

    def next_step(self, plan: RolloutPlan, progress: Progress) -> Step: ...


def fill_defaults(spec: RolloutSpec, options: Mapping[str, Mapping[str, Any]]) -> RolloutSpec:
    defaults = {k: s["default"] for k, s in options.items() if "default" in s and k not in spec.options}
    return spec.with_options(**defaults) if defaults else spec


def chunks(devices: Sequence[str], size: int) -> tuple[Wave, ...]:
    size = size if size > 0 else max(1, len(devices))
    return tuple(Wave(WaveKind.BATCH, tuple(devices[i : i + size])) for i in range(0, len(devices), size))


def window_step(window: int, progress: Progress) -> Step:
    """Keep `window` devices in flight, in plan order, until none is left."""
    free = max(0, window - len(progress.in_flight))
    if progress.pending and free:
        return Step(StepKind.START, progress.pending[:free])
    if progress.in_flight:
        return Step(StepKind.WAIT)
    if progress.pending:  # window 0: nothing may ever start; say so rather than spin
        return Step(StepKind.STOP, reason="the rollout's window allows no device in flight")
    return Step(StepKind.DONE)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def names_sample(devices: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(devices[:limit])
    return shown + (f", … (+{len(devices) - limit} more)" if len(devices) > limit else "")


def gated_step(plan: RolloutPlan, progress: Progress) -> Step:
    """Explicit waves: a wave starts once every earlier wave is finished (nothing in flight);
    inside the wave, `plan.window` devices in flight at once."""
    pending = set(progress.pending)
    earlier_busy = False
    for wave in plan.waves:
        waiting = tuple(d for d in wave.devices if d in pending)
        if not waiting:
            earlier_busy = earlier_busy or any(d in progress.in_flight for d in wave.devices)
            continue
        if wave.gated and earlier_busy:
            return Step(StepKind.WAIT)
        free = max(0, plan.window - len(progress.in_flight))
        if free:
            return Step(StepKind.START, waiting[:free])
        if progress.in_flight:
            return Step(StepKind.WAIT)
        return Step(StepKind.STOP, reason="the rollout's window allows no device in flight")
    if progress.in_flight:
        return Step(StepKind.WAIT)
    return Step(StepKind.DONE)
