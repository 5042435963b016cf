"""Chosen devices and explicit waves, for the strategies that offer them: the option schemas,
splitting a set's devices by the waves, and describing them (a wave starts once the ones before
it are over: `base.gated_step`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.model.rollout import (
    DeviceGroups,
    Wave,
    WaveKind,
)
from reconciler.strategies.base import names_sample

_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "uniqueItems": True}


SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {"devices": _NAMES, "groups": _NAMES},
    "description": "Devices by name and/or every device in these groups (or groups below them).",
}


WAVES = {
    "type": "array",
    "minItems": 1,
    "description": "Explicit waves in order: {groups: [...]}, {devices: [...]} or {percent: N} (the "
    "share of the set done once the wave is over). Each waits for the ones before it.",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "properties": {
            "devices": _NAMES,
            "groups": _NAMES,
            "percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
        },
    },
}


def selected(selector: Mapping[str, Any], names: Sequence[str], groups: DeviceGroups) -> list[str]:
    """The devices among `names` (in their order) that a selector picks."""
    want_devices = set(selector.get("devices") or ())
    want_groups = set(selector.get("groups") or ())
    return [n for n in names if n in want_devices or groups.get(n, frozenset()) & want_groups]


def selector_label(selector: Mapping[str, Any]) -> str:
    parts = [
        f"{k} {', '.join(str(x) for x in selector[k])}" for k in ("groups", "devices") if selector.get(k)
    ]
    return "; ".join(parts)


def explicit_waves(
    spec_waves: Sequence[Mapping[str, Any]],
    devices: Sequence[str],
    done: Sequence[str],
    groups: DeviceGroups,
    kind: WaveKind = WaveKind.BATCH,
) -> tuple[Wave, ...]:
    """The set's devices (to write, plus `done`) split by explicit waves, each device in the first
    wave that claims it: a selector claims the devices it matches; `percent: N` claims devices in
    name order until N% of the whole set is claimed. Devices no wave claims form a last wave, so
    none is left out. Only devices to write appear; waves left empty are dropped."""
    everyone = sorted({*devices, *done})
    todo = set(devices)
    claimed: set[str] = set()
    out: list[Wave] = []

    def add(picked: list[str], label: str) -> None:
        claimed.update(picked)
        mine = tuple(d for d in picked if d in todo)
        if mine:
            out.append(Wave(kind, mine, label=label, gated=True))

    for w in spec_waves:
        free = [d for d in everyone if d not in claimed]
        if "percent" in w:
            upto = math.ceil(len(everyone) * float(w["percent"]) / 100.0)
            add(free[: max(0, upto - len(claimed))], f"{float(w['percent']):g}%")
        else:
            add(selected(w, free, groups), selector_label(w))
    add([d for d in everyone if d not in claimed], "the rest (no wave names them)")
    return tuple(out)


def describe_waves(waves: Sequence[Wave], first: int = 1) -> str:
    return "; ".join(
        f"wave {i} ({w.label}): {names_sample(w.devices)}" for i, w in enumerate(waves, start=first)
    )
