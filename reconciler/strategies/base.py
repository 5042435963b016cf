"""What every strategy provides, and the sliding window most of them share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from reconciler.model.rollout import Progress, RolloutPlan, RolloutSpec, Step, StepKind, Wave, WaveKind

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

    def plan(self, spec: RolloutSpec, devices: Sequence[str], done: Sequence[str] = ()) -> RolloutPlan:
        """Waves for `devices` (to write to, in name order); `done` already run the content."""
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
