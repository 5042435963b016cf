"""Checks that need more than one field or more than one document, and no platform:
rollout fields that contradict each other, override targets outside their set, and
DeploymentSets that collide (same name, same device named twice)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Collection, Sequence
from fnmatch import fnmatchcase
from typing import Any

from reconciler import strategies
from reconciler.errors import Location, Problem
from reconciler.manifests.yamldoc import Document, PathT
from reconciler.model.project import DeploymentSet
from reconciler.model.rollout import RolloutSpec, format_duration, parse_duration

# Locates a rollout key (a path inside the rollout mapping) where it was written: the
# DeploymentSet's own rollout, or the project's defaults.
Locate = Callable[[PathT], Location]


def rollout_problems(
    rollout: dict[str, Any], locate: Locate, *, own: dict[str, Any] | None = None
) -> list[Problem]:
    """Contradictions in an effective rollout (defaults merged with the set's own), asked of
    the strategy it names. `own` is the set's own rollout mapping: a contradiction between a
    default and a set's value is reported at the set's value."""
    out: list[Problem] = []
    name = str(rollout.get("strategy", RolloutSpec().strategy))
    own = own or {}

    def at(key: PathT, message: str) -> None:
        out.append(Problem(f"rollout.{'.'.join(str(k) for k in key)}: {message}", locate(key)))

    found = strategies.spec_problems(rollout)
    for path, message in found:
        at(path, message)
    if name not in strategies.REGISTRY:
        return out
    strategy = strategies.get(name)
    if not strategy.uses_health_check and "health_check" in own:
        at(("health_check",), f"is ignored with strategy {name}; use rolling or canary, or remove it")
    health = rollout.get("health_check")
    if isinstance(health, dict):
        seconds: dict[str, float] = {}
        for key in ("deadline", "min_healthy_time"):
            if key in health:
                try:
                    seconds[key] = parse_duration(str(health[key]))
                except ValueError as e:
                    at(("health_check", key), str(e))
        if seconds.get("deadline") == 0:
            at(("health_check", "deadline"), "must be longer than 0s")
        if (
            "deadline" in seconds
            and "min_healthy_time" in seconds
            and seconds["min_healthy_time"] > seconds["deadline"]
        ):
            key = "min_healthy_time" if "min_healthy_time" in own.get("health_check", {}) else "deadline"
            at(
                ("health_check", key),
                f"min_healthy_time ({format_duration(seconds['min_healthy_time'])}) is longer than deadline "
                f"({format_duration(seconds['deadline'])}): no device could become healthy in time",
            )
    return out


def _explicit_only(s: DeploymentSet) -> bool:
    return bool(s.selector.devices) and not s.selector.groups and not s.selector.patterns


def override_problems(s: DeploymentSet, doc: Document, raw_overrides: Sequence[Any]) -> list[Problem]:
    """Overrides must stay inside their set: a device named by an override must be selected
    by a set that selects by explicit names, and never excluded by it."""
    out: list[Problem] = []
    sel = s.selector
    named_by: dict[str, int] = {}
    for i, raw in enumerate(raw_overrides):
        if not isinstance(raw, dict):
            continue
        for j, device in enumerate(raw.get("devices", [])):
            path: PathT = ("spec", "overrides", i, "devices", j)
            if device in named_by:
                out.append(
                    doc.problem(
                        f"spec.overrides[{i}]: device {device!r} is already named by "
                        f"overrides[{named_by[device]}]",
                        path,
                    )
                )
                continue
            named_by[device] = i
            if device in sel.exclude_devices or any(fnmatchcase(device, p) for p in sel.exclude_patterns):
                out.append(
                    doc.problem(
                        f"spec.overrides[{i}]: device {device!r} is excluded by this DeploymentSet's selector",
                        path,
                    )
                )
            elif _explicit_only(s) and device not in sel.devices:
                out.append(
                    doc.problem(
                        f"spec.overrides[{i}]: device {device!r} is not selected by this DeploymentSet "
                        f"(its selector names {', '.join(sel.devices)})",
                        path,
                    )
                )
        for j, pattern in enumerate(raw.get("patterns", [])):
            if _explicit_only(s) and not any(fnmatchcase(d, pattern) for d in sel.devices):
                out.append(
                    doc.problem(
                        f"spec.overrides[{i}]: pattern {pattern!r} matches none of this DeploymentSet's devices "
                        f"({', '.join(sel.devices)})",
                        ("spec", "overrides", i, "patterns", j),
                    )
                )
    return out


def selector_problems(s: DeploymentSet, doc: Document) -> list[Problem]:
    """A device the selector both names and excludes."""
    sel = s.selector
    return [
        doc.problem(
            f"spec.selector: device {device!r} is both named and excluded", ("spec", "selector", "devices", j)
        )
        for j, device in enumerate(sel.devices)
        if device in sel.exclude_devices or any(fnmatchcase(device, p) for p in sel.exclude_patterns)
    ]


def _excluded(s: DeploymentSet, device: str) -> bool:
    sel = s.selector
    return device in sel.exclude_devices or any(fnmatchcase(device, p) for p in sel.exclude_patterns)


def _matching(pattern: str, names: list[str]) -> list[str]:
    """The names (sorted) that match the fnmatch `pattern`. Only names sharing the pattern's
    literal prefix are tried, so thousands of sets with patterns stay fast."""
    prefix = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    start = bisect.bisect_left(names, prefix)
    out = []
    for name in names[start:]:
        if not name.startswith(prefix):
            break
        if fnmatchcase(name, pattern):
            out.append(name)
    return out


def name_problems(named: Sequence[tuple[str, Document]]) -> list[Problem]:
    """Across documents, whether or not they are otherwise valid: unique DeploymentSet names."""
    out: list[Problem] = []
    names: dict[str, Location] = {}
    for name, doc in named:
        first = names.get(name)
        if first is not None:
            out.append(
                doc.problem(
                    f"DeploymentSet name {name!r} is already used at {first.file}:{first.line}",
                    ("metadata", "name"),
                )
            )
        else:
            names[name] = doc.loc(("metadata", "name"))
    return out


def set_problems(
    sets: Sequence[tuple[DeploymentSet, Document]], layered: Collection[tuple[str, str]] = ()
) -> list[Problem]:
    """Across documents: no device named explicitly by two sets, or named by one and matched
    by another's name pattern (group membership needs the platform and is checked by the
    planner). `layered`: (set, a set it extends) pairs, which may share devices."""
    out: list[Problem] = []
    devices: dict[str, list[tuple[str, Document, int]]] = {}  # device -> (set, document, index) naming it

    def clash(name: str, device: str) -> tuple[str, Document, int] | None:
        return next(
            (x for x in devices.get(device, ()) if x[0] != name and not _layered(layered, name, x[0])), None
        )

    for s, doc in sets:
        for j, device in enumerate(s.selector.devices):
            found = clash(s.name, device)
            if found is not None:
                other, other_doc, k = found
                where = other_doc.loc(("spec", "selector", "devices", k))
                out.append(
                    doc.problem(
                        f"device {device!r} is also named by DeploymentSet {other!r} "
                        f"({where.file}:{where.line}); a device belongs to one DeploymentSet",
                        ("spec", "selector", "devices", j),
                    )
                )
            else:
                devices.setdefault(device, []).append((s.name, doc, j))
    named = sorted(devices)
    for s, doc in sets:
        for j, pattern in enumerate(s.selector.patterns):
            for device in _matching(pattern, named):
                found = clash(s.name, device)
                if found is not None and not _excluded(s, device):
                    other, other_doc, k = found
                    where = other_doc.loc(("spec", "selector", "devices", k))
                    out.append(
                        doc.problem(
                            f"pattern {pattern!r} matches device {device!r}, which DeploymentSet {other!r} "
                            f"names ({where.file}:{where.line}); a device belongs to one DeploymentSet",
                            ("spec", "selector", "patterns", j),
                        )
                    )
    return out


def _layered(pairs: Collection[tuple[str, str]], a: str, b: str) -> bool:
    return (a, b) in pairs or (b, a) in pairs
