"""Devices nobody manages: those no DeploymentSet selects, and the sets that managed some of
them and are gone from the manifests (known from the markers in their deployments'
descriptions, or from the `--base` manifests). Pure; shown by plan and drift."""

from __future__ import annotations

from collections.abc import Collection

from reconciler.escape import LINE_LIMIT, terminal
from reconciler.model import marker
from reconciler.model.live import LiveState
from reconciler.model.plan import RemovedSet, Unmanaged, UnmanagedDevice
from reconciler.plan import desired as D

GROUPS_SHOWN = 20  # groups counted by name in one line; the rest summed


def find_unmanaged(
    policy: str,
    sets: Collection[str],
    desired: D.Desired,
    live: LiveState,
    base: D.Desired | None = None,
    base_sets: Collection[str] = (),
) -> Unmanaged:
    """`sets`: the DeploymentSets in the manifests; `desired.unmanaged`: the devices read that
    none of them selects (the whole fleet must have been read)."""
    devices: list[UnmanagedDevice] = []
    removed: dict[str, tuple[list[str], set[str]]] = {}
    for name in desired.unmanaged:
        dev = live.devices[name]
        if dev.status == "archived":  # takes no deployment: nothing to manage
            continue
        group = live.groups.get(dev.group_id) if dev.group_id else None
        devices.append(UnmanagedDevice(device=name, group=group.name if group else None, status=dev.status))
        target = live.target_deployment(dev)
        m = marker.parse(target.description) if target else None
        if m is not None and m.deployment_set not in sets:
            entry = removed.setdefault(m.deployment_set, ([], set()))
            entry[0].append(name)
            entry[1].add("platform")
    unmanaged = {d.device for d in devices}
    for name in sorted(set(base_sets) - set(sets)):
        entry = removed.setdefault(name, ([], set()))
        entry[1].add("base")
        for dd in base.devices if base else ():
            if dd.deployment_set == name and dd.name in unmanaged and dd.name not in entry[0]:
                entry[0].append(dd.name)
    return Unmanaged(
        policy=policy,
        devices=tuple(devices),
        removed_sets=tuple(
            RemovedSet(name=n, devices=tuple(sorted(ds)), found_in=tuple(sorted(where)))
            for n, (ds, where) in sorted(removed.items())
        ),
    )


def removed_words(r: RemovedSet) -> str:
    """`rnd-protos removed: 7 devices keep their config and are no longer managed`."""
    n = len(r.devices)
    if n == 0:
        return f"{r.name} removed: none of its devices is left unmanaged"
    if n == 1:
        return f"{r.name} removed: 1 device keeps its config and is no longer managed"
    return f"{r.name} removed: {n} devices keep their config and are no longer managed"


def count_words(u: Unmanaged) -> str:
    """`12 devices no DeploymentSet selects: warehouse-north 9, (no group) 3`."""
    n = len(u.devices)
    groups = sorted(u.by_group().items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [f"{g or '(no group)'} {c}" for g, c in groups[:GROUPS_SHOWN]]
    if len(groups) > GROUPS_SHOWN:
        rest = sum(c for _, c in groups[GROUPS_SHOWN:])
        shown.append(f"{len(groups) - GROUPS_SHOWN} more groups {rest}")
    return f"{n} device{'s' if n != 1 else ''} no DeploymentSet selects: {', '.join(shown)}"


def render_unmanaged_text(u: Unmanaged | None, *, verbose: bool = False) -> list[str]:
    """Lines for a terminal (names from the platform and manifests escaped); none with `ignore`."""
    if u is None or u.policy == "ignore" or not u.found:
        return []
    label = "Error" if u.policy == "error" else "Warning"
    out = []
    if u.devices:
        more = "" if verbose else " (--verbose lists them)"
        out.append(f"{label}: {terminal(count_words(u), LINE_LIMIT)}{more}")
        if verbose:
            out += [
                f"  ? {terminal(d.device)} ({terminal(d.group or '(no group)')}, {d.status})"
                for d in u.devices
            ]
    out += [f"{label}: {terminal(removed_words(r), LINE_LIMIT)}" for r in u.removed_sets]
    if u.policy == "error":
        out.append("  (reconcile.yaml says unmanaged: error; select these devices in a DeploymentSet)")
    return out
