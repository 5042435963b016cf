"""Maintenance windows at plan time: which devices each window's selector covers, and when
each wave can start, from the platform's clock when the plan is made."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from reconciler.model.rollout import DeviceGroups, RolloutPlan
from reconciler.model.windows import MaintenanceWindow, next_allowed


def with_windows(plan: RolloutPlan, groups: DeviceGroups, now: float | None) -> RolloutPlan:
    windows = plan.spec.windows
    if not windows:
        return plan
    everyone = {*plan.devices, *plan.done}
    scopes = tuple(
        tuple(sorted(d for d in everyone if d in w.devices or groups.get(d, frozenset()) & set(w.groups)))
        if w.scoped
        else None
        for w in windows
    )
    plan = replace(plan, window_scopes=scopes)
    if now is None:
        return plan
    waves = []
    cache: dict[tuple[MaintenanceWindow, ...], float | None] = {}  # devices share a few window sets
    for wave in plan.waves:
        times = []
        for d in wave.devices:
            windows = plan.windows_for(d)
            if windows not in cache:
                cache[windows] = next_allowed(windows, now)
            times.append(cache[windows])
        known = [t for t in times if t is not None]
        opens = "now" if now in known else _iso(min(known)) if known else "not within two weeks"
        waves.append(replace(wave, opens=opens))
    return replace(plan, waves=tuple(waves))


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
