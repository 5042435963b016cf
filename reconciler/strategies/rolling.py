"""`rolling`: a sliding window of `max_parallel` devices in flight, in name order. The waves are
the chunks of `max_parallel` in start order (for review and progress); the window slides across
them, so a slow device never holds the next wave back. With explicit `waves` (by group, by
device, by percent of the set) each wave waits for the ones before it to finish."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.model.rollout import DeviceGroups, Progress, RolloutPlan, RolloutSpec, Step
from reconciler.strategies.base import OptionProblem, chunks, fill_defaults, gated_step, plural, window_step
from reconciler.strategies.waves import WAVES, describe_waves, explicit_waves

MAX_PARALLEL = {
    "type": "integer",
    "minimum": 0,
    "default": 0,
    "description": "Devices in flight at once (0 = all).",
}


class Rolling:
    name = "rolling"
    options: Mapping[str, Mapping[str, Any]] = {"max_parallel": MAX_PARALLEL, "waves": WAVES}
    exclusive: tuple[tuple[str, ...], ...] = ()
    uses_health_check = True

    def problems(self, options: Mapping[str, Any]) -> list[OptionProblem]:
        return []

    def effective(self, spec: RolloutSpec) -> RolloutSpec:
        return fill_defaults(spec, self.options)

    def plan(
        self,
        spec: RolloutSpec,
        devices: Sequence[str],
        done: Sequence[str] = (),
        groups: DeviceGroups | None = None,
    ) -> RolloutPlan:
        if spec.option("waves"):
            waves = explicit_waves(spec.option("waves"), devices, done, groups or {})
            window = int(spec.option("max_parallel", 0)) or max((len(w.devices) for w in waves), default=0)
            return RolloutPlan(spec=spec, waves=waves, window=window, done=tuple(done))
        window = int(spec.option("max_parallel", 0)) or len(devices)
        return RolloutPlan(spec=spec, waves=chunks(devices, window), window=window)

    def describe(self, plan: RolloutPlan) -> str:
        n = len(plan.devices)
        if plan.spec.option("waves"):
            pace = "" if int(plan.spec.option("max_parallel", 0)) == 0 else f", {plan.window} at a time"
            return f"rolling by waves{pace}, each after the last: {describe_waves(plan.waves)}"
        if int(plan.spec.option("max_parallel", 0)) == 0:
            return f"rolling: {plural(n, 'device')}, all at once"
        return f"rolling, {plan.window} at a time: {plural(n, 'device')} in {plural(len(plan.waves), 'wave')}"

    def next_step(self, plan: RolloutPlan, progress: Progress) -> Step:
        return gated_step(plan, progress) if plan.spec.option("waves") else window_step(plan.window, progress)


STRATEGY = Rolling()
