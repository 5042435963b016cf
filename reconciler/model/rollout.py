"""How a DeploymentSet rolls out, as data: the one rollout spec (manifests, plan JSON and rollout
record all use `RolloutSpec.to_dict`/`from_dict`), the waves a strategy splits the devices into
(decided at plan time, shown for review, executed as they are), and the steps a strategy answers
with while a rollout runs.

Defaults live here and nowhere else: the fields' defaults below, and each strategy's own options'
defaults in its module under `reconciler/strategies/`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from reconciler.model.control import Control
from reconciler.model.control import from_dict as control_from_dict
from reconciler.model.windows import MaintenanceWindow

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
# The same grammar as the JSON Schemas' duration pattern.
DURATION_PATTERN = r"^(\d+(\.\d+)?(ms|s|m|h))+$"


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration ("30s", "5m", "1h30m", "250ms"); ValueError with a readable
    message otherwise. Units must not repeat (e.g. "1m2m") so that a typo cannot hide."""
    pos, total, seen = 0, 0.0, set[str]()
    if not text:
        raise ValueError("empty duration")
    while pos < len(text):
        m = _PART.match(text, pos)
        if not m:
            raise ValueError(f"{text!r} is not a duration like 30s, 5m or 1h30m")
        if m.group(2) in seen:
            raise ValueError(f"{text!r} repeats the unit {m.group(2)!r}")
        seen.add(m.group(2))
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total


def format_duration(seconds: float) -> str:
    """Seconds -> the shortest readable form (90 -> "1m30s")."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    frac = seconds - whole
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "")
    if s or frac or not out:
        out += f"{s + frac:g}s"
    return out


def seconds(value: Any) -> float:
    """A duration as the manifests write it ("5m") or as JSON stores it (300)."""
    return parse_duration(value) if isinstance(value, str) else float(value)


class Activation(StrEnum):
    DEPLOY = "deploy"  # release changes are deployed in their wave
    STAGE = "stage"  # release changes are left staged for a person


@dataclass(frozen=True)
class Probe:
    """An HTTP check of each device, asked once its deployment is deployed and on every poll
    through `min_healthy_time`: `url` with `{device_name}` and `{device_id}` filled in (a path
    starting with `/` is on the platform's host), answered with `status`, and when `field` is
    set, a JSON body whose `field` (a dotted path) equals `equals`."""

    url: str
    status: int = 200
    field: str | None = None
    equals: Any = None
    timeout: float = 5.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "status": self.status, "timeout": self.timeout}
        if self.field is not None:
            out["json"] = {"field": self.field, "equals": self.equals}
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Probe:
        cond = d.get("json") or {}
        return cls(
            url=str(d["url"]),
            status=int(d.get("status", 200)),
            field=str(cond["field"]) if "field" in cond else None,
            equals=cond.get("equals"),
            timeout=seconds(d.get("timeout", 5.0)),
        )


@dataclass(frozen=True)
class HealthCheck:
    deadline: float = 300.0  # seconds a device may take to become healthy
    min_healthy_time: float = 30.0  # seconds it must stay deployed to count as healthy
    max_error_rate: float = 0.10
    probe: Probe | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "deadline": self.deadline,
            "min_healthy_time": self.min_healthy_time,
            "max_error_rate": self.max_error_rate,
            **({"probe": self.probe.to_dict()} if self.probe else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HealthCheck:
        base = cls()
        return cls(
            deadline=seconds(d.get("deadline", base.deadline)),
            min_healthy_time=seconds(d.get("min_healthy_time", base.min_healthy_time)),
            max_error_rate=float(d.get("max_error_rate", base.max_error_rate)),
            probe=Probe.from_dict(d["probe"]) if d.get("probe") else None,
        )


COMMON_FIELDS = (
    "strategy",
    "health_check",
    "max_failed_nodes",
    "max_failed_nodes_percent",
    "no_auto_rollback",
    "activation",
    "max_per_minute",
    "windows",
)


@dataclass(frozen=True)
class RolloutSpec:
    """One DeploymentSet's rollout. `options` are the strategy's own fields (e.g. `max_parallel`,
    `canary_count`), validated and given their defaults by the strategy."""

    strategy: str = "immediate"
    options: Mapping[str, Any] = field(default_factory=dict)
    health_check: HealthCheck = field(default_factory=HealthCheck)
    max_failed_nodes: int = 10
    max_failed_nodes_percent: float = 10.0
    no_auto_rollback: bool = False
    activation: Activation = Activation.DEPLOY
    max_per_minute: int = 0  # devices started per minute across waves, on the executor's clock (0 = no limit)
    windows: tuple[MaintenanceWindow, ...] = ()  # when a device may start (none: any time)

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def with_options(self, **options: Any) -> RolloutSpec:
        return replace(self, options={**self.options, **options})

    def to_dict(self) -> dict[str, Any]:
        """Durations in seconds; the strategy's options flat beside the common fields."""
        return {
            "strategy": self.strategy,
            **dict(sorted(self.options.items())),
            "health_check": self.health_check.to_dict(),
            "max_failed_nodes": self.max_failed_nodes,
            "max_failed_nodes_percent": self.max_failed_nodes_percent,
            "no_auto_rollback": self.no_auto_rollback,
            "activation": str(self.activation),
            # Only when set: plans and records written before the field existed stay the same.
            **({"max_per_minute": self.max_per_minute} if self.max_per_minute else {}),
            **({"windows": [w.to_dict() for w in self.windows]} if self.windows else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RolloutSpec:
        """From a manifest's `rollout:` (durations as "5m") or from JSON (durations as numbers).
        The strategy's options are kept as written; `strategies.effective` fills their defaults."""
        base = cls()
        return cls(
            strategy=str(d.get("strategy", base.strategy)),
            options={k: v for k, v in d.items() if k not in COMMON_FIELDS},
            health_check=HealthCheck.from_dict(d.get("health_check") or {}),
            max_failed_nodes=int(d.get("max_failed_nodes", base.max_failed_nodes)),
            max_failed_nodes_percent=float(d.get("max_failed_nodes_percent", base.max_failed_nodes_percent)),
            no_auto_rollback=bool(d.get("no_auto_rollback", base.no_auto_rollback)),
            activation=Activation(d.get("activation", base.activation)),
            max_per_minute=int(d.get("max_per_minute", base.max_per_minute)),
            windows=tuple(MaintenanceWindow.from_dict(w) for w in d.get("windows") or ()),
        )


class WaveKind(StrEnum):
    CANARY = "canary"  # the rollout waits for these to be healthy (and promoted) before the rest
    BATCH = "batch"  # the next devices in order; a sliding window carries on into the next wave


# Device name -> the names of its group and of every group above it: what a selector in a
# rollout (`canary: {groups: [...]}`, `waves: [{groups: [...]}]`) matches against.
DeviceGroups = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Wave:
    kind: WaveKind
    devices: tuple[str, ...]  # device names, in start order
    label: str = ""  # what chose these devices, for review ("groups plant-north", "25%")
    gated: bool = False  # starts only when every earlier wave is finished (explicit waves)
    opens: str = ""  # with maintenance windows: when its first device may start, as planned

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": str(self.kind), "devices": list(self.devices)}
        if self.label:
            out["label"] = self.label
        if self.gated:
            out["gated"] = True
        if self.opens:
            out["opens"] = self.opens
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Wave:
        return cls(
            kind=WaveKind(d["kind"]),
            devices=tuple(str(x) for x in d["devices"]),
            label=str(d.get("label", "")),
            gated=bool(d.get("gated", False)),
            opens=str(d.get("opens", "")),
        )


@dataclass(frozen=True)
class RolloutPlan:
    """What apply will do for one DeploymentSet: the effective spec, its waves and how many
    devices may be in flight at once. Decided at plan time; apply executes it unchanged."""

    spec: RolloutSpec
    waves: tuple[Wave, ...] = ()
    window: int = 0
    id: str = ""  # named by the set and its content (`marker.rollout_id`): the same from every clone
    canaries: tuple[str, ...] = ()  # every canary device, those already running the content too
    done: tuple[str, ...] = ()  # the set's devices already running the content (no write needed)
    held: str = ""  # why apply leaves the set alone (this content failed and was rolled back)
    control: Control | None = None  # a person's pause or abort in force (a record on the platform)
    notes: tuple[str, ...] = ()  # what the platform says about earlier rollouts of the set
    # Per maintenance window of the spec: the devices its selector matched (None: every device).
    window_scopes: tuple[tuple[str, ...] | None, ...] = ()

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(n for w in self.waves for n in w.devices)

    def windows_for(self, device: str) -> tuple[MaintenanceWindow, ...]:
        """The maintenance windows that apply to `device`."""
        scopes = self._scope_sets
        return tuple(
            w for w, scope in zip(self.spec.windows, scopes, strict=False) if scope is None or device in scope
        )

    @functools.cached_property
    def _scope_sets(self) -> tuple[frozenset[str] | None, ...]:
        # Sets, not the tuples: a rollout of thousands of devices asks this at every step.
        scopes = self.window_scopes or (None,) * len(self.spec.windows)
        return tuple(None if s is None else frozenset(s) for s in scopes)

    def wave_of(self, device: str) -> int:
        for i, wave in enumerate(self.waves, start=1):
            if device in wave.devices:
                return i
        raise KeyError(device)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "spec": self.spec.to_dict(),
            "window": self.window,
            "waves": [w.to_dict() for w in self.waves],
            "canaries": list(self.canaries),
            "done": list(self.done),
            "held": self.held,
            "notes": list(self.notes),
            **({"control": self.control.to_dict()} if self.control else {}),
            **(
                {"window_scopes": [None if s is None else list(s) for s in self.window_scopes]}
                if self.window_scopes
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RolloutPlan:
        return cls(
            id=str(d.get("id", "")),
            spec=RolloutSpec.from_dict(d["spec"]),
            window=int(d.get("window", 0)),
            waves=tuple(Wave.from_dict(w) for w in d.get("waves", ())),
            canaries=tuple(str(x) for x in d.get("canaries", ())),
            done=tuple(str(x) for x in d.get("done", ())),
            held=str(d.get("held", "")),
            control=control_from_dict(d["control"]) if isinstance(d.get("control"), dict) else None,
            notes=tuple(str(x) for x in d.get("notes", ())),
            window_scopes=tuple(
                None if s is None else tuple(str(x) for x in s) for s in d.get("window_scopes", ())
            ),
        )


@dataclass(frozen=True)
class Progress:
    """A running rollout as its strategy sees it when asked what to do next."""

    pending: tuple[str, ...]  # not started yet, in plan order
    in_flight: frozenset[str]
    succeeded: frozenset[str]
    failed: frozenset[str]
    promoted: bool = False  # the canary phase is over (recorded on the platform or the record)
    promote_requested: bool = False  # `reconcile apply --promote`


class StepKind(StrEnum):
    START = "start"  # start these devices now
    WAIT = "wait"  # poll the devices in flight, then ask again
    PROMOTE = "promote"  # end the canary phase, then ask again
    PAUSE = "pause"  # stop here until `reconcile apply --promote`
    STOP = "stop"  # the rollout failed: roll back (unless no_auto_rollback)
    DONE = "done"


@dataclass(frozen=True)
class Step:
    kind: StepKind
    devices: tuple[str, ...] = ()
    reason: str = ""
