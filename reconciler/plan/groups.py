"""Grouping identical changes: devices of one DeploymentSet with the same action, release
change and config diffs are one line in a rendered plan ("480 devices")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.model.enums import Origin
from reconciler.model.plan import ACTIONS, RELEASE, DeviceChange, PathT, Plan
from reconciler.plan.diff import describe

CHANGE_ORDER: dict[str, int] = {a: i for i, a in enumerate(ACTIONS)}


@dataclass(frozen=True)
class ChangeGroup:
    deployment_set: str
    action: str
    release_from: str | None
    release_to: str | None
    lines: tuple[str, ...]  # the release change and config diffs, described
    origin: str | None
    devices: tuple[DeviceChange, ...]

    @property
    def offline(self) -> tuple[str, ...]:
        return tuple(d.device for d in self.devices if d.offline)

    @property
    def word(self) -> str:
        """The action as a reviewer reads it: an upgrade to an older release is a downgrade."""
        return (
            "downgrade"
            if self.action == "upgrade" and is_downgrade(self.release_from, self.release_to)
            else self.action
        )

    def title(self) -> str:
        n = len(self.devices)
        return f"{self.word} {n} device{'s' if n != 1 else ''}"


_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(?:[-+].*)?$")


def is_downgrade(old: str | None, new: str | None) -> bool:
    """`2.2.0 -> 2.1.0` (numeric parts compared; versions that are not numbers are not
    ordered, so never called a downgrade)."""
    a = _VERSION.match(old or "")
    b = _VERSION.match(new or "")
    if a is None or b is None:
        return False
    return tuple(int(x) for x in b.group(1).split(".")) < tuple(int(x) for x in a.group(1).split("."))


def release_line(c: DeviceChange) -> str | None:
    origin = f" (from {c.release_source.deployment_set})" if c.release_source is not None else ""
    if c.action in ("upgrade", "stage", "restage") or (c.release_from and c.release_from != c.release_to):
        return f"release: {c.release_from or '(none)'} -> {c.release_to}{origin}"
    if c.release_from is None and c.action == "deploy":
        return f"release: (none) -> {c.release_to} (first deployment){origin}"
    return None


def change_lines(c: DeviceChange) -> tuple[str, ...]:
    # A device with both this branch's changes and drift says which line is which.
    def tag(field: PathT) -> str:
        if c.origin != "change + drift":
            return ""
        return "  [drift]" if field in c.drift_fields else "  [change]"

    rel = release_line(c)
    lines = [rel + tag(RELEASE)] if rel else []
    if c.archive_ids:  # a reviewer should see that someone's staged deployment goes away (ids in JSON)
        lines.append("replaces the device's staged deployment (archived)")
    lines += [describe(d) + tag(d.path) for d in c.config_diffs]
    return tuple(lines)


def is_exception(c: DeviceChange) -> bool:
    """Shown one by one in full: blocked devices and noops with something to say."""
    return c.action == "blocked" or (c.action == "noop" and bool(c.reason))


@dataclass(frozen=True)
class ExceptionGroup:
    """Blocked devices or noops of one DeploymentSet with the same reason, details and
    diagnostics: one entry however many devices ("release '2.0.1' does not exist: 9 devices")."""

    action: str
    deployment_set: str | None
    reason: str
    lines: tuple[str, ...]
    diagnostics: tuple[str, ...]
    devices: tuple[DeviceChange, ...]

    def title(self) -> str:
        n = len(self.devices)
        return f"{n} device{'s' if n != 1 else ''}"


# A waiting staged deployment's reason names its id; devices waiting alike are one group.
_WAITING = re.compile(r"^staged as \S+, waiting for someone to deploy it$")


def exception_reason(c: DeviceChange) -> str:
    reason = c.reason or ""
    return "staged, waiting for someone to deploy it" if _WAITING.match(reason) else reason


def group_exceptions(plan: Plan) -> list[ExceptionGroup]:
    """Exceptions grouped by DeploymentSet, action, reason and details; blocked first, then
    largest first."""
    buckets: dict[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], list[DeviceChange]] = {}
    for c in plan.changes:
        if not is_exception(c):
            continue
        lines = change_lines(c) if c.action == "blocked" else ()
        key = (c.deployment_set or "", c.action, exception_reason(c), lines, tuple(c.diagnostics))
        buckets.setdefault(key, []).append(c)
    groups = [
        ExceptionGroup(
            action=k[1],
            deployment_set=k[0] or None,
            reason=k[2],
            lines=k[3],
            diagnostics=k[4],
            devices=tuple(sorted(v, key=lambda d: d.device)),
        )
        for k, v in buckets.items()
    ]
    groups.sort(key=lambda g: (g.action != "blocked", -len(g.devices), g.reason, g.devices[0].device))
    return groups


_Key = tuple[str, str, str | None, str | None, tuple[str, ...], Origin | None]


def group_changes(plan: Plan) -> list[ChangeGroup]:
    """Groups of changed devices (deploy/upgrade/stage/restage), largest first within a
    DeploymentSet, sets in name order; device order inside a group is by name."""
    buckets: dict[_Key, list[DeviceChange]] = {}
    for c in plan.changes:
        if c.action in ("noop", "blocked"):
            continue
        key: _Key = (
            c.deployment_set or "",
            c.action,
            c.release_from,
            c.release_to,
            change_lines(c),
            c.origin,
        )
        buckets.setdefault(key, []).append(c)
    groups = [
        ChangeGroup(
            deployment_set=k[0],
            action=k[1],
            release_from=k[2],
            release_to=k[3],
            lines=k[4],
            origin=k[5],
            devices=tuple(sorted(v, key=lambda d: d.device)),
        )
        for k, v in buckets.items()
    ]
    groups.sort(
        key=lambda g: (
            g.deployment_set,
            CHANGE_ORDER[g.action],
            -len(g.devices),
            g.lines,
            g.devices[0].device,
        )
    )
    return groups


def sample(names: tuple[str, ...] | list[str], n: int | None = 5) -> str:
    """The first `n` names and how many more; every name when `n` is None."""
    if n is None:
        return ", ".join(names)
    shown = ", ".join(names[:n])
    return shown + (f", ... (+{len(names) - n} more)" if len(names) > n else "")


def limit_line(plan: Plan) -> str | None:
    """The blast-radius limit against this plan's device count, when the project sets one."""
    limit, n = plan.max_devices_per_apply, plan.devices_to_change
    if not limit:
        return None
    if n > limit:
        return (
            f"Limit: this plan changes {n} devices, more than the {limit} per apply that reconcile.yaml "
            f"allows: apply refuses unless given --allow-large {n}"
        )
    return f"Limit: this plan changes {n} of at most {limit} devices per apply"


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    down = sum(
        1 for c in plan.changes if c.action == "upgrade" and is_downgrade(c.release_from, c.release_to)
    )
    upgrades = f"{s['upgrade'] - down} to upgrade" + (f", {down} to downgrade" if down else "")
    n = s["instances_to_create"]
    return (
        f"Plan: {s['deploy']} to deploy, {upgrades}, {s['stage']} to stage, "
        f"{s['restage']} to restage, {n} config instance{'s' if n != 1 else ''} to create. "
        f"{s['noop']} unchanged, {s['blocked']} blocked."
    )
