"""Grouping identical changes: devices of one DeploymentSet with the same action, release
change and config diffs are one line in a rendered plan ("480 devices")."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.enums import Origin
from reconciler.model.plan import ACTIONS, DeviceChange, Plan
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

    def title(self) -> str:
        n = len(self.devices)
        return f"{self.action} {n} device{'s' if n != 1 else ''}"


def release_line(c: DeviceChange) -> str | None:
    if c.action in ("upgrade", "stage", "restage") or (c.release_from and c.release_from != c.release_to):
        return f"release: {c.release_from or '(none)'} -> {c.release_to}"
    if c.release_from is None and c.action == "deploy":
        return f"release: (none) -> {c.release_to} (first deployment)"
    return None


def change_lines(c: DeviceChange) -> tuple[str, ...]:
    lines = [x for x in (release_line(c),) if x]
    if c.archive_ids:  # a reviewer should see that someone's staged deployment goes away (ids in JSON)
        lines.append("replaces the device's staged deployment (archived)")
    lines += [describe(d) for d in c.config_diffs]
    return tuple(lines)


def is_exception(c: DeviceChange) -> bool:
    """Shown one by one in full: blocked devices and noops with something to say."""
    return c.action == "blocked" or (c.action == "noop" and bool(c.reason))


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


def sample(names: tuple[str, ...] | list[str], n: int = 5) -> str:
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
    return (
        f"Plan: {s['deploy']} to deploy, {s['upgrade']} to upgrade, {s['stage']} to stage, "
        f"{s['restage']} to restage, {s['instances_to_create']} config instances to create. "
        f"{s['noop']} unchanged, {s['blocked']} blocked."
    )
