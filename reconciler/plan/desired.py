"""Desired state: the manifests resolved against live names (groups, devices, releases,
config types, schemas). Pure: takes a Project and a LiveState, returns data.

Devices resolve per DeploymentSet; releases and content per device. Content is assembled,
put in canonical form and validated once per distinct (schema, content), so a fleet of
10,000 devices sharing three contents costs three validations.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import jsonschema
import yaml

from reconciler import strategies
from reconciler.errors import Location, Problem
from reconciler.model.enums import BlockReason
from reconciler.model.live import LiveDevice, LiveRelease, LiveSchema, LiveState
from reconciler.model.plan import ValueSource
from reconciler.model.project import ConfigSpec, DeploymentSet, Project, Selector
from reconciler.model.rollout import RolloutSpec
from reconciler.plan import content as C
from reconciler.plan import layers as L
from reconciler.sensitive import SecretFields


@dataclass(frozen=True)
class DesiredConfig:
    config_type: str
    slot_key: str
    schema_id: str
    instance_format: str
    content: Any  # parsed value (for diffs)
    data: str  # canonical text (uploaded as is)
    key: str  # content address
    # A device layered from several sets (`extends:`): the specs merged into this slot, each with
    # the set that wrote it, so the plan can say which layer a value comes from.
    layers: tuple[L.Tagged, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class DesiredDevice:
    name: str
    device: LiveDevice | None  # None: named in a manifest, absent on the platform
    deployment_set: str
    activation: str
    release_version: str
    release: LiveRelease | None
    configs: tuple[DesiredConfig, ...] = ()
    blocked: BlockReason | None = None
    reason: str | None = None
    release_source: ValueSource | None = None  # layered: the set (and line) its release comes from


@dataclass(frozen=True)
class Desired:
    devices: tuple[DesiredDevice, ...]
    problems: tuple[Problem, ...] = ()  # errors in the manifests that stop planning
    findings: tuple[Problem, ...] = ()  # content/release problems; the devices are blocked
    notes: tuple[str, ...] = ()  # e.g. schemas whose language is not checked
    rollouts: Mapping[str, RolloutSpec] = field(default_factory=dict)
    validations: int = 0  # JSON Schema validations run (one per distinct schema and content)
    unmanaged: tuple[str, ...] = ()  # devices read that no DeploymentSet selects, by name
    layers: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # planned set -> its bases, nearest first


def _where(loc: Location | None, project: Project) -> Location:
    return loc or Location(project.project_file)


# --- selection -------------------------------------------------------------------------------


def descendants(live: LiveState) -> dict[str, set[str]]:
    """group id -> itself and every group below it."""
    children: dict[str, list[str]] = {}
    for g in live.groups.values():
        if g.parent_id:
            children.setdefault(g.parent_id, []).append(g.id)
    out: dict[str, set[str]] = {}
    for gid in live.groups:
        seen, stack = set(), [gid]
        while stack:
            x = stack.pop()
            if x not in seen:
                seen.add(x)
                stack.extend(children.get(x, ()))
        out[gid] = seen
    return out


def _group_ids(
    names: Iterable[str],
    live: LiveState,
    below: Mapping[str, set[str]],
    loc: Location,
    problems: list[Problem],
    where: Mapping[str, Location],
) -> set[str]:
    ids: set[str] = set()
    for name in names:
        g = live.group_by_name(name)
        if g is None:
            problems.append(Problem(f"group {name!r} does not exist on the platform", where.get(name, loc)))
        else:
            ids |= below[g.id]
    return ids


def group_index(live: LiveState) -> dict[str | None, list[str]]:
    """group id -> names of the devices directly in it: built once, so a selector costs the
    size of its groups rather than a scan of the fleet (1,000 overrides in a 100,000-device
    fleet used to scan it 1,000 times)."""
    out: dict[str | None, list[str]] = {}
    for name, dev in live.devices.items():
        out.setdefault(dev.group_id, []).append(name)
    return out


def select(
    selector: Selector,
    live: LiveState,
    below: Mapping[str, set[str]],
    loc: Location,
    problems: list[Problem],
    within: Iterable[str] | None = None,
    index: Mapping[str | None, list[str]] | None = None,
) -> list[str]:
    """Device names the selector matches, sorted. Names given explicitly but unknown to the
    platform are kept (they plan as blocked: device unknown). `within`: only these names;
    `index`: `group_index(live)`, when the caller selects more than once."""
    items = selector.item_locations
    include = _group_ids(
        selector.groups,
        live,
        below,
        loc,
        problems,
        {k[len("groups/") :]: v for k, v in items.items() if k.startswith("groups/")},
    )
    exclude = _group_ids(
        selector.exclude_groups,
        live,
        below,
        loc,
        problems,
        {k[len("exclude.groups/") :]: v for k, v in items.items() if k.startswith("exclude.groups/")},
    )
    devices = live.devices
    if index is None:
        index = group_index(live)
    pool: Collection[str] = (
        devices if within is None else set(within) if not isinstance(within, set) else within
    )
    # Candidates (matched by a group, a name or a pattern), then the exclusions.
    hits = {n for gid in include for n in index.get(gid, ()) if n in pool}
    hits.update(n for n in selector.devices if n in pool)
    if selector.patterns:
        hits.update(n for n in pool if any(fnmatch.fnmatchcase(n, p) for p in selector.patterns))
    out = set()
    for name in hits:
        dev = devices.get(name)
        group = dev.group_id if dev else None
        if (
            name in selector.exclude_devices
            or group in exclude
            or any(fnmatch.fnmatchcase(name, p) for p in selector.exclude_patterns)
        ):
            continue
        out.add(name)
    if within is None:
        out |= {n for n in selector.devices if n not in devices and n not in selector.exclude_devices}
    return sorted(out)


def _unmatched_selector_items(
    ds: DeploymentSet,
    live: LiveState,
    below: Mapping[str, set[str]],
    loc: Location,
    index: Mapping[str | None, list[str]],
) -> list[Problem]:
    """Warnings: a group or pattern of the set's selector that matches no device (an unknown
    group is an error elsewhere; an unknown device name plans as blocked)."""
    sel, out = ds.selector, []
    for name in sel.groups:
        g = live.group_by_name(name)
        if g is not None and not any(index.get(gid) for gid in below[g.id]):
            where = sel.item_locations.get(f"groups/{name}", loc)
            out.append(Problem(f"group {name!r} has no devices", where, severity="warning"))
    for pattern in sel.patterns:
        if not any(fnmatch.fnmatchcase(n, pattern) for n in live.devices):
            where = sel.item_locations.get(f"patterns/{pattern}", loc)
            out.append(Problem(f"pattern {pattern!r} matches no device", where, severity="warning"))
    return out


def _unmatched_override_targets(ds: DeploymentSet, names: list[str], project: Project) -> list[Problem]:
    """Errors: an override device or pattern that matches none of the set's devices. Ignoring
    it would silently plan that device back to the set's values (a typo drops a speed limit)."""
    out: list[Problem] = []
    members = set(names)
    for i, o in enumerate(ds.overrides):
        loc = _where(o.location, project)
        for name in o.selector.devices:
            if name not in members:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                out.append(
                    Problem(
                        f"overrides[{i}]: device {name!r} is not one of DeploymentSet {ds.name!r}'s "
                        f"devices{hint}",
                        o.selector.item_locations.get(f"devices/{name}", loc),
                    )
                )
        for pattern in o.selector.patterns:
            if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                out.append(
                    Problem(
                        f"overrides[{i}]: pattern {pattern!r} matches none of DeploymentSet {ds.name!r}'s devices",
                        o.selector.item_locations.get(f"patterns/{pattern}", loc),
                    )
                )
    return out


# --- resolution ------------------------------------------------------------------------------


@dataclass
class _Validation:
    """Per-run caches: one validator per schema, one validation per (schema, content)."""

    validators: dict[str, Any] = field(default_factory=dict)
    results: dict[tuple[str, str], list[tuple[str, list[str | int]]]] = field(default_factory=dict)
    count: int = 0  # validations actually run (tests assert once per distinct content)


_Combo = tuple[
    str, LiveRelease | None, tuple[DesiredConfig, ...], BlockReason | None, str | None, ValueSource | None
]


def resolve(
    project: Project, live: LiveState, only: Collection[str] | None = None, *, partial: bool = False
) -> Desired:
    """`only`: the DeploymentSets to plan (`--set`); the others still claim their devices, so a
    device that a planned set shares with another is reported, but their own problems are not
    (each shard of a fleet answers for its sets; the sets a planned one extends are part of it).
    `partial`: `live` holds only some of the planned sets' devices (`--device NAME`), so what
    matches nothing there proves nothing."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    findings: dict[tuple[str, str, str], Problem] = {}
    notes: set[str] = set()
    below = descendants(live)
    index = group_index(live)
    cache = _Validation()
    chains = L.chains(project)
    wanted = None if only is None else {s.name for n in only if n in chains for s in chains[n]}
    claims = L.Claims(chains, {})
    members: dict[str, dict[str, list[int]]] = {}  # set -> device -> the overrides matching it, in order
    for ds in project.sets:
        loc = _where(ds.selector.location or ds.location, project)
        if wanted is not None and ds.name not in wanted:
            for name in select(ds.selector, live, below, loc, [], index=index):
                claims.matched.setdefault(name, []).append(ds)
            continue
        before = len(problems)
        names = select(ds.selector, live, below, loc, problems, index=index)
        # A base pulled in for a planned layer: what it matches here is only the layer's part.
        partial_here = partial or (only is not None and ds.name not in only)
        if not partial_here:
            warnings += _unmatched_selector_items(ds, live, below, loc, index)
        # An unknown group explains devices missing from the set.
        if len(problems) == before and not partial_here:
            problems += _unmatched_override_targets(ds, names, project)
        pool, hits = set(names), members.setdefault(ds.name, {})
        for i, o in enumerate(ds.overrides):
            where = _where(o.location, project)
            for name in select(o.selector, live, below, where, problems, within=pool, index=index):
                hits.setdefault(name, []).append(i)
        for name in names:
            claims.matched.setdefault(name, []).append(ds)
    combos: dict[tuple[str, tuple[tuple[int, ...], ...]], _Combo] = {}
    overlaps: dict[str, dict[str, list[str]]] = {}  # later set -> earlier set -> devices both select
    outside: dict[tuple[str, str], list[str]] = {}  # (set, a base of it) -> devices only the set selects
    devices: list[DesiredDevice] = []
    for name in sorted(claims.matched):
        ds, clash = claims.owner(name)
        planned = only is None or ds.name in only
        if clash is not None:
            if only is None or clash[0].name in only or clash[1] in only:
                overlaps.setdefault(clash[0].name, {}).setdefault(clash[1], []).append(name)
            ds = claims.matched[name][0]  # resolved as the first set's still: its own problems show too
            planned = only is None or ds.name in only
        if not planned:
            continue
        # A name the platform does not know plans as blocked (device unknown), whoever names it.
        base = claims.missing_base(name, ds) if name in live.devices else None
        if base is not None:
            outside.setdefault((ds.name, base.name), []).append(name)
            continue
        chain = chains[ds.name]
        if len(chain) == 1:  # a set with no base (most): no generator per device
            which: tuple[tuple[int, ...], ...] = (tuple(members.get(ds.name, {}).get(name, ())),)
        else:
            which = tuple(tuple(members.get(s.name, {}).get(name, ())) for s in chain)
        if (ds.name, which) not in combos:
            layers = tuple(zip(chains[ds.name], which, strict=True))
            combos[ds.name, which] = _resolve_combo(project, layers, live, cache, findings, notes)
        devices.append(_device(name, ds, chains[ds.name], which, combos[ds.name, which], live))
    by_name = {ds.name: ds for ds in project.sets}
    for later, pairs in overlaps.items():
        problems += _overlap_problems(by_name[later], pairs, project)
    problems += [_outside_base(by_name[s], by_name[b], names, project) for (s, b), names in outside.items()]
    planned_sets = project.sets if only is None else [ds for ds in project.sets if ds.name in only]
    return Desired(
        devices=tuple(devices),
        problems=tuple(problems),
        findings=tuple(findings.values()) + tuple(warnings),
        notes=tuple(sorted(notes)),
        rollouts={ds.name: strategies.effective(ds.rollout) for ds in planned_sets},
        validations=cache.count,
        unmanaged=tuple(sorted(n for n in live.devices if n not in claims.matched)),
        layers={
            ds.name: tuple(s.name for s in reversed(chains[ds.name][:-1]))
            for ds in planned_sets
            if len(chains[ds.name]) > 1
        },
    )


def _device(
    name: str,
    ds: DeploymentSet,
    chain: tuple[DeploymentSet, ...],
    which: tuple[tuple[int, ...], ...],
    combo: _Combo,
    live: LiveState,
) -> DesiredDevice:
    """A device of `ds` (layered over the rest of `chain`), matched by the overrides `which`."""
    version, release, configs, code, reason, release_source = combo
    held = [(s.name, i) for s, w in zip(chain, which, strict=True) for i in w if s.overrides[i].hold]
    if held and code is None:
        code = BlockReason.HELD
        who = "" if held[0][0] == ds.name else f"{held[0][0]}'s "
        reason = f"held by {who}overrides[{held[0][1]}] (hold: true): kept out of rollouts until the hold is removed"
    return DesiredDevice(
        name=name,
        device=live.devices.get(name),
        deployment_set=ds.name,
        activation=ds.activation,
        release_version=version,
        release=release,
        configs=configs,
        blocked=code,
        reason=reason,
        release_source=release_source,
    )


def _outside_base(ds: DeploymentSet, base: DeploymentSet, names: list[str], project: Project) -> Problem:
    n = len(names)
    shown = ", ".join(repr(d) for d in names[:10]) + (f", ... (+{n - 10} more)" if n > 10 else "")
    who = f"device {names[0]!r} is" if n == 1 else f"{n} devices are"
    return Problem(
        f"{who} selected by DeploymentSet {ds.name!r}, which extends {base.name!r} "
        f"({_where(base.location, project)}), but {base.name!r} does not select "
        f"{'it' if n == 1 else 'them'}"
        + (f": {shown}" if n > 1 else "")
        + "; a layer refines its base's devices (select them in the base, or drop extends)",
        _where(ds.extends_location or ds.selector.location or ds.location, project),
    )


def _overlap_problems(
    ds: DeploymentSet, overlaps: Mapping[str, list[str]], project: Project
) -> list[Problem]:
    """One problem per pair of sets (`overlaps`: earlier set -> devices `ds` also matches),
    however many devices they share."""
    by_name = {x.name: x for x in project.sets}
    out = []
    for other, shared in overlaps.items():
        n = len(shared)
        shown = ", ".join(repr(d) for d in shared[:10]) + (f", ... (+{n - 10} more)" if n > 10 else "")
        who = f"device {shared[0]!r}" if n == 1 else f"each of {n} devices"
        pair = f"DeploymentSets {other!r} ({_where(by_name[other].location, project)}) and {ds.name!r}"
        out.append(
            Problem(
                f"{who} is matched by {pair}" + (f": {shown}" if n > 1 else ""), _where(ds.location, project)
            )
        )
    return out


def _resolve_combo(
    project: Project,
    layers: tuple[tuple[DeploymentSet, tuple[int, ...]], ...],
    live: LiveState,
    cache: _Validation,
    findings: dict[tuple[str, str, str], Problem],
    notes: set[str],
) -> _Combo:
    """Release and configs for the devices of a set (the last of `layers`, the sets it extends
    before it) matched by the overrides numbered as paired with each layer."""
    version, rel_loc, rel_set, tagged = L.inputs(layers)
    layered = len(layers) > 1
    rel_source = L.source(rel_loc, rel_set) if layered else None
    result = _combo(project, layers[-1][0], version, rel_loc, tagged, live, cache, findings, notes, layered)
    return (*result, rel_source)


def _combo(
    project: Project,
    ds: DeploymentSet,
    version: str,
    rel_loc: Location | None,
    tagged: dict[str, list[L.Tagged]],
    live: LiveState,
    cache: _Validation,
    findings: dict[tuple[str, str, str], Problem],
    notes: set[str],
    layered: bool,
) -> tuple[str, LiveRelease | None, tuple[DesiredConfig, ...], BlockReason | None, str | None]:
    specs_by_type = {slug: [spec for _, spec in specs] for slug, specs in tagged.items()}
    release = live.release_by_version(version)
    if release is None:
        msg = f"release {version!r} does not exist on the platform"
        findings.setdefault(("release", version, ""), Problem(msg, _where(rel_loc, project)))
        return version, None, (), BlockReason.RELEASE_UNKNOWN, msg

    schemas = [live.schemas[s] for s in release.schema_ids if s in live.schemas]
    by_slug = {s.config_type_slug: s for s in schemas}
    configs: list[DesiredConfig] = []
    filled: set[tuple[str, str]] = set()
    invalid: Problem | None = None
    for slug, specs in specs_by_type.items():
        spec_loc = _where(specs[0].location, project)
        schema = by_slug.get(slug)
        if schema is None:
            known = live.type_by_slug(slug) is not None
            msg = (
                f"release {version} has no config schema for config type {slug!r}"
                if known
                else f"config type {slug!r} does not exist on the platform"
            )
            findings.setdefault(("type", version, slug), Problem(msg, spec_loc))
            return version, release, (), BlockReason.CONFIG_TYPE_UNKNOWN, msg
        # Slots: specs naming no slot go to `default` (or the schema's only slot).
        by_slot: dict[str, list[ConfigSpec]] = {}
        for spec in specs:
            slot = spec.slot or _default_slot(schema)
            if slot is None or schema.slot(slot) is None:
                keys = ", ".join(s.key for s in schema.slots)
                msg = f"config type {slug!r} in release {version} has slots {keys}; " + (
                    f"there is no slot {spec.slot!r}" if spec.slot else "name one with `slot:`"
                )
                findings.setdefault(
                    ("slot", version, f"{slug}/{spec.slot}"), Problem(msg, _where(spec.location, project))
                )
                return version, release, (), BlockReason.SLOT_MISSING, msg
            by_slot.setdefault(slot, []).append(spec)
        for slot, slot_specs in sorted(by_slot.items()):
            result = _config(slug, slot, schema, slot_specs, cache, notes, project)
            if isinstance(result, list):  # every error of every config, not the first config's first
                for p in result:
                    findings.setdefault(("content", schema.id, p.message + str(p.location)), p)
                invalid = invalid or result[0]
                continue
            if layered:
                mine = [t for t in tagged[slug] if any(t[1] is spec for spec in slot_specs)]
                result = replace(result, layers=tuple(mine))
            configs.append(result)
            filled.add((slug, slot))
    if invalid is not None:
        return version, release, (), BlockReason.CONTENT_INVALID, f"{invalid.message} ({invalid.location})"
    for schema in schemas:
        for s in schema.slots:
            if s.required and (schema.config_type_slug, s.key) not in filled:
                msg = (
                    f"release {version} requires config type {schema.config_type_slug!r} "
                    f"slot {s.key!r} ({s.filepath}), which the manifests do not provide"
                )
                findings.setdefault(
                    ("required", version, f"{schema.config_type_slug}/{s.key}"),
                    Problem(msg, _where(ds.location, project)),
                )
                return version, release, (), BlockReason.SLOT_MISSING, msg
    configs.sort(key=lambda c: (c.config_type, c.slot_key))
    return version, release, tuple(configs), None, None


def _default_slot(schema: LiveSchema) -> str | None:
    if schema.slot("default") is not None:
        return "default"
    return schema.slots[0].key if len(schema.slots) == 1 else None


def _config(
    slug: str,
    slot: str,
    schema: LiveSchema,
    specs: list[ConfigSpec],
    cache: _Validation,
    notes: set[str],
    project: Project,
) -> DesiredConfig | list[Problem]:
    value = C.assemble(specs)
    loc = _where(specs[-1].location, project)
    try:
        data = C.canonical(value, schema.instance_format)
    except (C.ContentError, TypeError, ValueError) as e:
        return [Problem(f"{slug}: {e}", loc)]
    errors = _validate(schema, value, data, cache, notes)
    if errors:
        problems = []
        for message, parts in errors:
            where = C.locate(parts, specs) or loc
            path = C.json_path(parts)
            where = Location(where.file, where.line, where.column, path)
            problems.append(Problem(f"{slug}: content invalid at {path}: {message}", where))
        return problems
    return DesiredConfig(
        config_type=slug,
        slot_key=slot,
        schema_id=schema.id,
        instance_format=schema.instance_format,
        content=value,
        data=data,
        key=C.content_key(schema.id, slot, data),
    )


def _validate(
    schema: LiveSchema, value: Any, data: str, cache: _Validation, notes: set[str]
) -> list[tuple[str, list[str | int]]]:
    if schema.language != "jsonschema":
        notes.add(f"{schema.config_type_slug}: {schema.language} schema, content not checked")
        return []
    key = (schema.id, data)
    if key in cache.results:
        return cache.results[key]
    if schema.id not in cache.validators:
        if not schema.documents:
            notes.add(f"{schema.config_type_slug}: schema {schema.id} has no document, content not checked")
            cache.validators[schema.id] = None
        else:
            try:
                cache.validators[schema.id] = C.validator_for(C.load_document(schema.documents[0][1]))
            except (jsonschema.SchemaError, ValueError, yaml.YAMLError) as e:
                notes.add(f"{schema.config_type_slug}: schema {schema.id} is not a valid JSON Schema ({e})")
                cache.validators[schema.id] = None
    validator = cache.validators[schema.id]
    cache.count += 1
    result = [] if validator is None else C.all_errors(validator, value)
    if validator is not None:  # messages quote values: no secret in them (nor, later, in errors)
        fields = SecretFields(validator.schema)
        fields.leaves(value)
        result = [(fields.scrub(message, value, tuple(parts)), parts) for message, parts in result]
    cache.results[key] = result
    return result
