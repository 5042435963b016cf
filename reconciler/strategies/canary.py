"""`canary`: the first `canary_count` devices (or `canary_percent` of the set, at least one), in
name order, or the devices a `canary` selector chooses by name and group, go first, all together. When they are done: a failed canary stops the rollout; else
`auto_promote` continues once one canary is healthy, or the rollout pauses for
`reconcile apply --promote`. The rest then roll out `max_parallel` at a time (all at once when 0), or by explicit `waves`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

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
from reconciler.strategies.base import (
    OptionProblem,
    chunks,
    fill_defaults,
    gated_step,
    names_sample,
    plural,
    window_step,
)
from reconciler.strategies.rolling import MAX_PARALLEL
from reconciler.strategies.waves import SELECTOR, WAVES, describe_waves, explicit_waves, selected


class Canary:
    name = "canary"
    options: Mapping[str, Mapping[str, Any]] = {
        "canary_count": {"type": "integer", "minimum": 1},
        "canary_percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
        "canary": SELECTOR,
        "auto_promote": {"type": "boolean", "default": False},
        "max_parallel": MAX_PARALLEL,
        "waves": WAVES,
    }
    exclusive: tuple[tuple[str, ...], ...] = (("canary_count", "canary_percent", "canary"),)
    uses_health_check = True

    def problems(self, options: Mapping[str, Any]) -> list[OptionProblem]:
        chosen = [k for k in self.exclusive[0] if k in options]
        if len(chosen) > 1:
            return [
                (
                    (chosen[1],),
                    f"set one of canary_count, canary_percent or canary, not {' and '.join(chosen)}",
                )
            ]
        if not chosen:
            return [(("strategy",), "strategy canary needs canary_count, canary_percent or canary")]
        return []

    def effective(self, spec: RolloutSpec) -> RolloutSpec:
        return fill_defaults(spec, self.options)

    def size(self, spec: RolloutSpec, total: int) -> int:
        if total == 0:
            return 0
        if spec.option("canary_count"):
            n = int(spec.option("canary_count"))
        elif spec.option("canary_percent"):
            n = math.ceil(total * float(spec.option("canary_percent")) / 100.0)
        else:
            n = 1
        return max(1, min(total, n))

    def plan(
        self,
        spec: RolloutSpec,
        devices: Sequence[str],
        done: Sequence[str] = (),
        groups: DeviceGroups | None = None,
    ) -> RolloutPlan:
        """Canaries are the first devices of the whole set in name order (or those the `canary`
        selector picks, in name order), so every clone picks the same ones; those already running
        the content count toward the canary phase."""
        if not devices:
            return RolloutPlan(spec=spec, done=tuple(done))
        everyone = sorted({*devices, *done})
        chooser = spec.option("canary")
        notes: tuple[str, ...] = ()
        if chooser:
            canaries = tuple(selected(chooser, everyone, groups or {}))
            missing = sorted(set(chooser.get("devices") or ()) - set(everyone))
            if missing:
                notes += (f"canary devices not in this set's rollout: {names_sample(missing)}",)
            if not canaries:
                notes += ("the canary selector picks no device of this set: no canary phase",)
        else:
            canaries = tuple(everyone[: self.size(spec, len(everyone))])
        first = tuple(d for d in devices if d in canaries)
        rest = [d for d in devices if d not in canaries]
        if spec.option("waves"):
            later = explicit_waves(
                spec.option("waves"), rest, [d for d in done if d not in canaries], groups or {}
            )
            window = int(spec.option("max_parallel", 0)) or max(
                [len(first), *(len(w.devices) for w in later)]
            )
        else:
            window = int(spec.option("max_parallel", 0)) or max(1, len(rest))
            later = chunks(rest, window)
        label = "canaries" if chooser else ""
        waves = ((Wave(WaveKind.CANARY, first, label=label),) if first else ()) + later
        return RolloutPlan(
            spec=spec, waves=waves, window=window, canaries=canaries, done=tuple(done), notes=notes
        )

    def describe(self, plan: RolloutPlan) -> str:
        canaries, rest = plan.canaries, len([d for d in plan.devices if d not in plan.canaries])
        then = "auto-promote" if plan.spec.option("auto_promote") else "pause for --promote"
        running = [d for d in canaries if d in plan.done]
        already = (
            f" ({names_sample(running)} already run{'s' if len(running) == 1 else ''} it)" if running else ""
        )
        words = f"canaries: {names_sample(canaries)}{already}; {then}"
        if _promoted(plan):
            words = f"canaries: {names_sample(canaries)} done; promoted"
        if rest and plan.spec.option("waves"):
            later = [w for w in plan.waves if w.kind is not WaveKind.CANARY]
            words += f"; then by waves, each after the last: {describe_waves(later, len(plan.waves) - len(later) + 1)}"
        elif rest:
            pace = "all at once" if plan.window >= rest else f"{plan.window} at a time"
            words += f"; then {plural(rest, 'device')}, {pace}"
        return words

    def next_step(self, plan: RolloutPlan, progress: Progress) -> Step:
        canaries = set(plan.canaries)
        if canaries and not (progress.promoted or _promoted(plan)):
            if canaries & progress.failed:
                names = ", ".join(sorted(canaries & progress.failed))
                return Step(StepKind.STOP, reason=f"a canary device failed ({names})")
            waiting = tuple(n for n in progress.pending if n in canaries)
            if waiting:
                return Step(StepKind.START, waiting)
            if canaries & progress.in_flight:
                return Step(StepKind.WAIT)
            if any(n not in canaries for n in progress.pending):
                # Promotion needs evidence: canaries that were all offline (deferred) or changed
                # since the plan (stale) proved nothing, so even auto_promote waits.
                healthy = bool(canaries & (progress.succeeded | set(plan.done)))
                if progress.promote_requested or (plan.spec.option("auto_promote") and healthy):
                    return Step(StepKind.PROMOTE, reason="canaries healthy; promoted")
                why = (
                    "canaries healthy"
                    if healthy
                    else "no canary became healthy (offline or changed since the plan)"
                )
                return Step(StepKind.PAUSE, reason=why)
        return gated_step(plan, progress) if plan.spec.option("waves") else window_step(plan.window, progress)


def _promoted(plan: RolloutPlan) -> bool:
    """A device beyond the canaries already runs the content: the canary phase was passed (in
    another run, perhaps from another clone), so it is not entered again."""
    return any(d not in plan.canaries for d in plan.done)


STRATEGY = Canary()
