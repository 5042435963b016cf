"""`immediate`: every device at once; a device is done once deployed (the health check's
min_healthy_time does not apply; the deadline and the failure budget do)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.model.rollout import DeviceGroups, HealthCheck, Progress, RolloutPlan, RolloutSpec, Step
from reconciler.strategies.base import OptionProblem, chunks, plural, window_step


class Immediate:
    name = "immediate"
    options: Mapping[str, Mapping[str, Any]] = {}
    exclusive: tuple[tuple[str, ...], ...] = ()
    uses_health_check = False

    def problems(self, options: Mapping[str, Any]) -> list[OptionProblem]:
        return []

    def effective(self, spec: RolloutSpec) -> RolloutSpec:
        return replace(spec, health_check=replace(spec.health_check or HealthCheck(), min_healthy_time=0.0))

    def plan(
        self,
        spec: RolloutSpec,
        devices: Sequence[str],
        done: Sequence[str] = (),
        groups: DeviceGroups | None = None,
    ) -> RolloutPlan:
        return RolloutPlan(spec=spec, waves=chunks(devices, len(devices)), window=len(devices))

    def describe(self, plan: RolloutPlan) -> str:
        return f"immediate: {plural(len(plan.devices), 'device')} at once"

    def next_step(self, plan: RolloutPlan, progress: Progress) -> Step:
        return window_step(plan.window, progress)


STRATEGY = Immediate()
