"""Part of the fleet (`--set`, `--device`): which DeploymentSets and devices a run plans,
and what of the platform it must read for them. Pure; a glob that matches nothing is an
error naming it (a typo must not turn a run into "no changes")."""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial

from reconciler.errors import Location, ReconcileError
from reconciler.model.enums import Action
from reconciler.model.live import DeviceScope, LiveDevice, LiveGroup, LiveState
from reconciler.model.plan import Plan
from reconciler.model.project import Project
from reconciler.plan import desired as D

_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class Selection:
    sets: tuple[str, ...] = ()  # globs over DeploymentSet names
    devices: tuple[str, ...] = ()  # globs over device names

    @property
    def active(self) -> bool:
        return bool(self.sets or self.devices)

    def words(self) -> str:
        parts = [f"--set {s!r}" for s in self.sets] + [f"--device {d!r}" for d in self.devices]
        return " ".join(parts)


EVERYTHING = Selection()  # no --set, no --device: the whole fleet


def _matches(name: str, globs: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


def chosen_sets(project: Project, selection: Selection) -> tuple[str, ...]:
    """Names of the DeploymentSets the run plans: those `--set` matches (every one without it)."""
    names = [ds.name for ds in project.sets]
    if not selection.sets:
        return tuple(names)
    for glob in selection.sets:
        if not any(fnmatch.fnmatchcase(n, glob) for n in names):
            raise ReconcileError(
                f"--set {glob!r} matches no DeploymentSet",
                hint=f"the DeploymentSets are: {', '.join(sorted(names))} (`reconcile sets` lists them)",
            )
    return tuple(n for n in names if _matches(n, selection.sets))


def scope(project: Project, selection: Selection, chosen: Collection[str]) -> DeviceScope | None:
    """What to read for the selection: None (the whole fleet) without one. Devices named
    exactly by `--device` are read by name; the chosen sets' devices by their selectors'
    groups and names; name patterns (in `--device` or a selector) need every device."""
    if not selection.active:
        return None
    pick = partial(chosen_devices, project, selection, frozenset(chosen))
    if by_name(selection):
        return DeviceScope(names=tuple(sorted(set(selection.devices))), chosen=pick)
    sets = [ds for ds in project.sets if ds.name in chosen]
    if selection.sets and not any(ds.selector.patterns for ds in sets):
        groups = sorted({g for ds in sets for g in ds.selector.groups})
        names = sorted({n for ds in sets for n in ds.selector.devices})
        return DeviceScope(groups=tuple(groups), names=tuple(names), chosen=pick)
    return DeviceScope(every=True, chosen=pick)


def by_name(selection: Selection) -> bool:
    """Whether `--device` names exact devices, which are then all that is read of the sets."""
    return bool(selection.devices) and not any(_MAGIC & set(g) for g in selection.devices)


def chosen_devices(
    project: Project,
    selection: Selection,
    chosen: Collection[str],
    devices: Mapping[str, LiveDevice],
    groups: Mapping[str, LiveGroup],
) -> set[str]:
    """Names of the devices the chosen sets select among those read, narrowed by `--device`:
    the devices whose deployments are read."""
    live = LiveState(
        devices=devices, groups=groups, config_types={}, releases={}, schemas={}, deployments={}, instances={}
    )
    below = D.descendants(live)
    out: set[str] = set()
    for ds in project.sets:
        if ds.name in chosen:
            where = ds.selector.location or ds.location or Location(project.project_file)
            out.update(D.select(ds.selector, live, below, where, []))
    return {n for n in out if _matches(n, selection.devices)} if selection.devices else out


def narrow(desired: D.Desired, selection: Selection) -> D.Desired:
    """The desired devices `--device` names (all of them without it)."""
    if not selection.devices:
        return desired
    for glob in selection.devices:
        if not any(fnmatch.fnmatchcase(dd.name, glob) for dd in desired.devices):
            raise ReconcileError(
                f"--device {glob!r} matches no device of the "
                + ("selected DeploymentSets" if selection.sets else "DeploymentSets"),
                hint="a device no DeploymentSet selects is not managed (see `reconcile plan --verbose`)",
            )
    kept = tuple(dd for dd in desired.devices if _matches(dd.name, selection.devices))
    return replace(desired, devices=kept)


def narrow_plan(plan: Plan, selection: Selection) -> Plan:
    """A saved plan cut to the chosen sets, whole: each set's rollout is what was reviewed,
    so `--device` may only drop devices it would not write to (a plan made with that `--device`)."""
    if not selection.active:
        return plan
    names = set(plan.rollouts) | {c.deployment_set for c in plan.changes if c.deployment_set}
    for glob in selection.sets:
        if not any(fnmatch.fnmatchcase(n, glob) for n in names):
            raise ReconcileError(f"--set {glob!r} matches no DeploymentSet of the saved plan")
    kept = {n for n in names if not selection.sets or _matches(n, selection.sets)}
    changes = [c for c in plan.changes if c.deployment_set in kept]
    if selection.devices:
        for glob in selection.devices:
            if not any(fnmatch.fnmatchcase(c.device, glob) for c in changes):
                raise ReconcileError(f"--device {glob!r} matches no device of the saved plan")
        outside = [
            c.device for c in changes if Action(c.action).writes and not _matches(c.device, selection.devices)
        ]
        if outside:
            raise ReconcileError(
                f"--device cannot split the saved plan's rollouts: it also writes to {', '.join(outside[:5])}"
                + (f" and {len(outside) - 5} more" if len(outside) > 5 else ""),
                hint="make the plan with the same --device (`reconcile plan --device NAME --out FILE`)",
            )
        changes = [c for c in changes if _matches(c.device, selection.devices)]
    keys = {k for c in changes for k in c.instance_keys}
    return replace(
        plan,
        changes=tuple(changes),
        rollouts={k: v for k, v in plan.rollouts.items() if k in kept},
        instances=tuple(i for i in plan.instances if i.key in keys),
        unmanaged=None,
    )
