"""DeploymentSet layers (`extends:`): which set owns a device several sets select, and which
layer a planned value comes from. Pure.

A device selected by a set and by the sets it extends (directly or through others) belongs to
the most specific one; its values are the base's, then each layer's merged over them, in
order root -> owner, each layer's overrides right after its own values. Sets that select one
device without extending one another are an error, as without layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.errors import Location
from reconciler.model.plan import ConfigDiff, PathT, ValueSource
from reconciler.model.project import ConfigSpec, DeploymentSet, Project
from reconciler.plan import content as C

Tagged = tuple[str, ConfigSpec]  # (the DeploymentSet that wrote it, the spec)


def chains(project: Project) -> dict[str, tuple[DeploymentSet, ...]]:
    """Set name -> the sets it is layered from, root first, itself last. An unknown base or a
    cycle (refused by the loader) ends the chain."""
    by_name = {ds.name: ds for ds in project.sets}
    out: dict[str, tuple[DeploymentSet, ...]] = {}
    for ds in project.sets:
        chain, cur = [ds], ds
        while cur.extends and cur.extends in by_name and by_name[cur.extends] not in chain:
            cur = by_name[cur.extends]
            chain.append(cur)
        out[ds.name] = tuple(reversed(chain))
    return out


@dataclass
class Claims:
    """Which sets select each device, and what that makes of it."""

    chains: Mapping[str, tuple[DeploymentSet, ...]]
    matched: dict[str, list[DeploymentSet]]

    def owner(self, device: str) -> tuple[DeploymentSet, tuple[DeploymentSet, str] | None]:
        """The set the device belongs to, and a pair that cannot share it (None when the sets
        selecting it form one chain): (the set met first, the name of the one that collides)."""
        sets = self.matched[device]
        owner = sets[0]
        for ds in sets[1:]:
            if ds in self.chains[owner.name]:
                continue
            if owner in self.chains[ds.name]:
                owner = ds
                continue
            first, later = sorted((owner, ds), key=lambda s: sets.index(s))
            return owner, (later, first.name)
        return owner, None

    def missing_base(self, device: str, owner: DeploymentSet) -> DeploymentSet | None:
        """A set the owner extends that does not select the device: a layer refines its base's
        devices, it does not add devices the base leaves out."""
        chain = self.chains[owner.name]
        if len(chain) == 1:  # no base: most sets
            return None
        sets = self.matched[device]
        return next((base for base in chain[:-1] if base not in sets), None)


def inputs(
    layers: Sequence[tuple[DeploymentSet, tuple[int, ...]]],
) -> tuple[str, Location | None, str, dict[str, list[Tagged]]]:
    """From the layers (root first) and the overrides of each that match a device: its release,
    where that is written, the set that wrote it, and the config specs per type in merge order."""
    version, rel_loc, rel_set = "", None, layers[-1][0].name
    specs: dict[str, list[Tagged]] = {}
    for ds, which in layers:
        if ds.release_written:
            version, rel_loc, rel_set = ds.release, ds.release_location or ds.location, ds.name
        for spec in ds.configs:
            specs.setdefault(spec.config_type, []).append((ds.name, spec))
        for i in which:
            o = ds.overrides[i]
            if o.release:
                version, rel_loc, rel_set = o.release, o.location, ds.name
            for spec in o.configs:
                specs.setdefault(spec.config_type, []).append((ds.name, spec))
    return version, rel_loc, rel_set, specs


def source(at: Location | None, name: str) -> ValueSource:
    loc = at or Location("")
    return ValueSource(name, loc.file or None, loc.line, loc.column)


def source_of(parts: PathT, tagged: Sequence[Tagged]) -> ValueSource | None:
    """The layer whose spec decides the value at `parts` inside a slot's content: the last one
    that writes the path (or, failing that, the nearest container of it). A list is replaced
    whole by a merge, so whatever lies in one belongs to the layer that wrote the list."""
    cut = next((i for i, p in enumerate(parts) if isinstance(p, int)), len(parts))
    for n in range(cut, -1, -1):
        path = parts[:n]
        for name, spec in reversed(tagged):
            if spec.values is not None and _has(spec.values, path):
                return source(spec.location, name)
            if spec.base is not None and _has(spec.base, path):
                for k in range(n, -1, -1):
                    loc = spec.file_locations.get(C.json_path(path[:k]))
                    if loc is not None:
                        return source(loc, name)
                return source(Location(spec.file) if spec.file else spec.location, name)
    return None


def attribute(diffs: tuple[ConfigDiff, ...], configs: Sequence[Any]) -> tuple[ConfigDiff, ...]:
    """`diffs` with the layer each planned value comes from (`configs`: the device's
    DesiredConfigs; only layered ones carry their tagged specs)."""
    by_slot = {(c.config_type, c.slot_key): c.layers for c in configs if c.layers}
    if not by_slot:
        return diffs
    out = []
    for d in diffs:
        tagged = by_slot.get((str(d.path[0]), str(d.path[1])))
        out.append(replace(d, source=source_of(d.path[2:], tagged)) if tagged else d)
    return tuple(out)


def _has(value: Any, parts: PathT) -> bool:
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return False
    return True
