"""The planner: desired (manifests) vs live (platform) -> Plan, pure.

Reading live state and enrollment diagnostics is the command layer's
(`reconciler.commands.planning`); everything here works on data already read.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import yaml

from reconciler import sensitive, strategies
from reconciler.errors import ValidationFailed
from reconciler.model import marker
from reconciler.model.enums import Action, BlockReason, Origin
from reconciler.model.live import LiveDeployment, LiveDevice, LiveInstance, LiveState, parse_time
from reconciler.model.plan import RELEASE, ConfigDiff, DeviceChange, PathT, Plan, PlannedInstance
from reconciler.model.project import Project
from reconciler.model.rollout import RolloutPlan, RolloutSpec
from reconciler.plan import content as C
from reconciler.plan import desired as D
from reconciler.plan import layers
from reconciler.plan.diff import config_diffs
from reconciler.plan.windows import with_windows
from reconciler.sensitive import secret_fields

RECONCILE_PREFIX = "reconcile "  # descriptions of deployments the reconciler created (apply writes them so)
CHANGE_ACTIONS = tuple(a for a in Action if a.writes)


def _blocked(dd: D.DesiredDevice, code: BlockReason, reason: str, **extra: Any) -> DeviceChange:
    dev = dd.device
    return DeviceChange(
        device=dd.name,
        device_id=dev.id if dev else None,
        action=Action.BLOCKED,
        deployment_set=dd.deployment_set,
        release_from=dev.current_release_version if dev else None,
        release_to=dd.release_version,
        reason=reason,
        reason_code=code,
        **extra,
    )


def live_key(live: LiveState, inst: LiveInstance) -> str:
    """An instance's content address, computed on its content put in canonical form: a
    platform instance with the same values written with other whitespace or key order (the
    dashboard's, another tool's) is the same content, so devices holding it are unchanged and
    it is reused rather than duplicated."""
    return _semantic(live, inst)[0]


def _semantic(live: LiveState, inst: LiveInstance) -> tuple[str, Any]:
    assert inst.data is not None
    schema = live.schemas.get(inst.config_schema_id)
    fmt = inst.format or (schema.instance_format if schema else "text")
    return _semantic_of(inst.config_schema_id, inst.slot_key, fmt, inst.data)


@functools.lru_cache(maxsize=4096)
def _semantic_of(schema_id: str, slot_key: str, fmt: str, data: str) -> tuple[str, Any]:
    # Cached: ten thousand devices usually share a handful of distinct instances.
    value = C.parse(data, fmt)
    canonical = data
    if fmt in ("json", "jsonc", "yaml") and value is not data:
        try:
            canonical = C.canonical(value, fmt)
        except (C.ContentError, TypeError, ValueError):
            canonical = data
    return C.content_key(schema_id, slot_key, canonical), value


def _live_configs(live: LiveState, dep: LiveDeployment | None) -> dict[tuple[str, str], tuple[str, Any]]:
    """(config type slug, slot) -> (content key, parsed content) of a live deployment."""
    out: dict[tuple[str, str], tuple[str, Any]] = {}
    if dep is None:
        return out
    for iid in dep.instance_ids:
        inst = live.instances.get(iid)
        if inst is None or inst.data is None:
            continue
        schema = live.schemas.get(inst.config_schema_id)
        ctype = live.config_types.get(inst.config_type_id)
        slug = (
            schema.config_type_slug if schema and schema.config_type_slug else (ctype.slug if ctype else "?")
        )
        out[(slug, inst.slot_key)] = _semantic(live, inst)
    return out


class Early(Protocol):
    """A device's change made before the read ended, if it still holds (`plan/ahead.py`)."""

    @property
    def memo(self) -> Memo: ...

    def __call__(self, dd: D.DesiredDevice) -> DeviceChange | None: ...


def _instance_keys(live: LiveState, dep: LiveDeployment) -> set[str]:
    keys = set()
    for iid in dep.instance_ids:
        inst = live.instances.get(iid)
        keys.add(live_key(live, inst) if inst is not None and inst.data is not None else f"unknown:{iid}")
    return keys


DiffCache = dict[tuple[Any, ...], tuple[ConfigDiff, ...]]


@dataclass
class Memo:
    """Per-plan caches: what depends only on a deployment's instances (most devices share a
    handful of instance sets) or a group is worked out once, not once per device."""

    diffs: DiffCache = field(default_factory=dict)
    live: dict[tuple[str, ...], tuple[dict[tuple[str, str], tuple[str, Any]], frozenset[str]]] = field(
        default_factory=dict
    )
    groups: dict[str | None, frozenset[str]] = field(default_factory=dict)
    markers: dict[str, marker.Marker | None] = field(default_factory=dict)
    targets: dict[str, LiveDeployment | None] = field(default_factory=dict)  # device id -> its target
    # A desired configs tuple (shared by every device of one combination) -> its keys, as a
    # tuple and as a set.
    keys: dict[int, tuple[object, tuple[str, ...], frozenset[str]]] = field(default_factory=dict)

    def keys_of(self, configs: tuple[D.DesiredConfig, ...]) -> tuple[tuple[str, ...], frozenset[str]]:
        hit = self.keys.get(id(configs))
        if hit is None or hit[0] is not configs:
            keys = tuple(c.key for c in configs)
            hit = self.keys[id(configs)] = (configs, keys, frozenset(keys))
        return hit[1], hit[2]

    # (live configs, desired configs) objects -> their diffs: most devices share both objects,
    # so this skips even building `_diffs`'s key. The entry holds the objects: ids stay theirs.
    shared_diffs: dict[tuple[int, int], tuple[object, object, tuple[ConfigDiff, ...]]] = field(
        default_factory=dict
    )

    def diffs_of(
        self, live_cfg: Mapping[tuple[str, str], tuple[str, Any]], dd: D.DesiredDevice, live: LiveState
    ) -> tuple[ConfigDiff, ...]:
        hit = self.shared_diffs.get((id(live_cfg), id(dd.configs)))
        if hit is not None and hit[0] is live_cfg and hit[1] is dd.configs:
            return hit[2]
        # Attributed to layers after `_diffs`'s cache (its key has no layers).
        result = layers.attribute(_diffs(live_cfg, dd, self.diffs, live), dd.configs)
        self.shared_diffs[id(live_cfg), id(dd.configs)] = (live_cfg, dd.configs, result)
        return result

    def live_of(
        self, live: LiveState, dep: LiveDeployment | None
    ) -> tuple[Mapping[tuple[str, str], tuple[str, Any]], frozenset[str] | None]:
        """A deployment's live configs and its instances' content keys (None without a deployment)."""
        if dep is None:
            return {}, None
        found = self.live.get(dep.instance_ids)
        if found is None:
            found = self.live[dep.instance_ids] = (
                _live_configs(live, dep),
                frozenset(_instance_keys(live, dep)),
            )
        return found


def _diffs(
    live_cfg: Mapping[tuple[str, str], tuple[str, Any]],
    dd: D.DesiredDevice,
    cache: DiffCache | None = None,
    live: LiveState | None = None,
) -> tuple[ConfigDiff, ...]:
    # Devices with the same live and desired content have the same diffs: computed once.
    sig = (tuple(sorted((k, v[0]) for k, v in live_cfg.items())), tuple(c.key for c in dd.configs))
    if cache is not None and sig in cache:
        return cache[sig]
    result = _diffs_of(live_cfg, dd, live)
    if cache is not None:
        cache[sig] = result
    return result


def _diffs_of(
    live_cfg: Mapping[tuple[str, str], tuple[str, Any]], dd: D.DesiredDevice, live: LiveState | None = None
) -> tuple[ConfigDiff, ...]:
    want = {(c.config_type, c.slot_key): c for c in dd.configs}
    out: list[ConfigDiff] = []
    for k in sorted(set(live_cfg) | set(want)):
        have = live_cfg.get(k)
        new = want.get(k)
        if have is not None and new is not None and have[0] == new.key:
            continue
        secret = secret_fields(live, new.schema_id if new else None)  # secret values stay out of plans
        out += config_diffs(k, have[1] if have else None, new.content if new else None, secret)
    return tuple(out)


def _is_ours(dep: LiveDeployment) -> bool:
    return dep.description.startswith(RECONCILE_PREFIX)


def unplannable(dd: D.DesiredDevice) -> tuple[BlockReason, str] | None:
    """Why the device is blocked whatever is deployed on it (the reason code and text), if it is."""
    dev = dd.device
    if dev is None:
        return (
            BlockReason.DEVICE_UNKNOWN,
            f"device {dd.name!r} is named in DeploymentSet "
            f"{dd.deployment_set!r} but does not exist on the platform",
        )
    if dev.status == "archived":
        return BlockReason.DEVICE_ARCHIVED, "device is archived"
    if dev.status in ("inactive", "activating"):
        return (
            BlockReason.NOT_ENROLLED,
            f"device was never enrolled (status {dev.status}): no agent to deploy to",
        )
    if dd.blocked is not None:
        return dd.blocked, dd.reason or dd.blocked
    return None


def plan_device(
    dd: D.DesiredDevice,
    live: LiveState,
    diagnostics: Mapping[str, tuple[str, ...]] | None = None,
    diff_cache: DiffCache | None = None,
    memo: Memo | None = None,
    found: tuple[LiveDeployment | None, list[LiveDeployment]] | None = None,
) -> DeviceChange:
    """`found`: the device's target and staged deployments when the caller knows them (see
    `LiveState.target_and_staged`)."""
    dev = dd.device
    held = unplannable(dd)
    if held is not None:
        code, reason = held
        if code is BlockReason.NOT_ENROLLED and dev is not None:
            return _blocked(dd, code, reason, diagnostics=tuple((diagnostics or {}).get(dev.id, ())))
        return _blocked(dd, code, reason)
    release = dd.release
    assert dev is not None and release is not None
    memo = memo or Memo(diffs=diff_cache if diff_cache is not None else {})
    target, staged = found if found is not None else live.target_and_staged(dev)
    memo.targets[dev.id] = target
    # The target's release, not the one the device reports: a platform may report the old
    # release until the agent confirms the new one, and re-planning a queued upgrade repeats it.
    current_release = target.release_id if target else dev.current_release_id
    current_version = dev.current_release_version if current_release == dev.current_release_id else None
    if current_version is None and current_release is not None and current_release in live.releases:
        current_version = live.releases[current_release].version
    live_cfg, target_keys = memo.live_of(live, target)
    instance_keys, want_keys = memo.keys_of(dd.configs)
    diffs = memo.diffs_of(live_cfg, dd, live)

    def change(action: Action, **kw: Any) -> DeviceChange:
        return DeviceChange(
            device=dd.name,
            device_id=dev.id,
            deployment_set=dd.deployment_set,
            release_from=current_version,
            release_to=release.version,
            release_to_id=release.id,
            config_diffs=diffs,
            instance_keys=instance_keys,
            parent_token=target.id if target else None,
            offline=dev.status == "offline",
            release_source=dd.release_source,
            action=action,
            **kw,
        )

    if current_release is None or current_release == release.id:
        if target is not None and target_keys == want_keys:
            note = None
            if staged:
                versions = ", ".join(
                    sorted(f"{s.id} ({_version(live, s)}, {s.activity_status})" for s in staged)
                )
                note = f"staged deployment not in the manifests left alone: {versions} (see reconcile drift)"
            return change(Action.NOOP, reason=note)
        return change(Action.DEPLOY)
    # A release change.
    foreign_drift = [s for s in staged if s.activity_status == "drifted" and not _is_ours(s)]
    if foreign_drift:
        s = foreign_drift[0]
        return change(
            Action.BLOCKED,
            reason_code=BlockReason.DRIFT_REVIEW,
            reason=f"deployment {s.id} ({_version(live, s)}) is drifted: the device was patched "
            f"after it was staged ({s.description!r}); review it in the dashboard (archive it) "
            "and plan again",
        )
    if dd.activation == "stage":
        for s in staged:
            if (
                s.release_id == release.id
                and s.activity_status == "staged"
                and _instance_keys(live, s) == want_keys
            ):
                return change(Action.NOOP, reason=f"staged as {s.id}, waiting for someone to deploy it")
        if staged:
            return change(Action.RESTAGE, archive_ids=tuple(sorted(s.id for s in staged)))
        return change(Action.STAGE)
    return change(Action.UPGRADE, archive_ids=tuple(sorted(s.id for s in staged)))


def _version(live: LiveState, dep: LiveDeployment) -> str:
    rel = live.releases.get(dep.release_id)
    return rel.version if rel else dep.release_id


def plan_from(
    desired: D.Desired,
    live: LiveState,
    *,
    diagnostics: Mapping[str, tuple[str, ...]] | None = None,
    commit: str | None = None,
    target: str = "",
    created_at: str = "",
    now: float | None = None,
    early: Early | None = None,
) -> Plan:
    """The plan for `desired` against `live`: one DeviceChange per desired device, sorted by
    name, and the config instances the changes need (reusing identical live ones). `now` is the
    platform's time (seconds since the epoch), for when maintenance windows let waves start.
    `early` gives a device's change planned while the deployments were read, when it still
    holds (`plan/ahead.py`), with the caches it was planned with."""
    memo = early.memo if early is not None else Memo()
    changes = []
    for dd in desired.devices:
        kept = early(dd) if early is not None else None
        changes.append(kept if kept is not None else plan_device(dd, live, diagnostics, memo=memo))
    existing: dict[str, str] = {}
    exact: set[str] = set()
    # Identical instances (two applies that raced): the first created, as apply converges on
    for inst in sorted(live.instances.values(), key=lambda i: (parse_time(i.created_at), i.id)):
        if inst.data is None:
            continue
        raw = C.content_key(inst.config_schema_id, inst.slot_key, inst.data)
        if raw not in exact:  # an instance with exactly the planned bytes wins over an equivalent one
            existing[raw] = inst.id
            exact.add(raw)
        existing.setdefault(live_key(live, inst), inst.id)
    instances: dict[str, PlannedInstance] = {}
    by_name = {dd.name: dd for dd in desired.devices}
    for ch in changes:
        if ch.action not in CHANGE_ACTIONS:
            continue
        for cfg in by_name[ch.device].configs:
            if cfg.key not in instances:
                instances[cfg.key] = PlannedInstance(
                    key=cfg.key,
                    config_type=cfg.config_type,
                    config_schema_id=cfg.schema_id,
                    slot_key=cfg.slot_key,
                    format=cfg.instance_format,
                    data=cfg.data,
                    existing_id=existing.get(cfg.key),
                    sealed=_has_secrets(live, cfg.schema_id, cfg.instance_format, cfg.data),
                )
    ordered = sorted(instances.values(), key=lambda i: (i.config_type, i.slot_key, i.key))
    return Plan(
        changes=tuple(changes),
        instances=tuple(ordered),
        rollouts=rollout_plans(desired.rollouts, changes, live, now, memo),
        layers=dict(desired.layers),
        commit=commit,
        target=target,
        created_at=created_at,
        # Selector entries that match no device: said in the plan, not an error.
        notes=tuple(desired.notes)
        + tuple(f"{p.location}: {p.message}" for p in desired.findings if p.severity == "warning"),
    )


def _has_secrets(live: LiveState, schema_id: str, fmt: str, data: str) -> bool:
    if fmt not in ("json", "yaml"):
        return False  # text content cannot be inspected field by field
    try:
        content = json.loads(data) if fmt == "json" else yaml.safe_load(data)
    except (ValueError, yaml.YAMLError):
        return False
    return sensitive.secret_fields(live, schema_id).has_secrets(content)


def rollout_plans(
    specs: Mapping[str, RolloutSpec],
    changes: Sequence[DeviceChange],
    live: LiveState,
    now: float | None = None,
    memo: Memo | None = None,
) -> dict[str, RolloutPlan]:
    """Each set's rollout, decided now so a reviewer sees which devices go first: the devices
    apply will write to, in plan (name) order, split by the set's strategy. What earlier runs
    left on the platform (the markers in deployment descriptions) counts: devices this same
    rollout already updated count toward its canary phase, and content that failed and was
    rolled back is held back."""
    by_set: dict[str, list[DeviceChange]] = {name: [] for name in specs}
    for c in changes:
        if c.deployment_set in by_set and c.action != Action.BLOCKED:
            by_set[c.deployment_set].append(c)
    out = {}
    memo = memo or Memo()
    for name, spec in specs.items():
        mine = by_set[name]
        rid = marker.rollout_id(name, [(c.release_to, c.instance_keys) for c in mine])
        markers = {c.device: _target_marker(live, c.device, memo) for c in mine}
        ours = {d for d, m in markers.items() if m is not None and m.rollout == rid}
        done = [c.device for c in mine if c.action == Action.NOOP and c.device in ours]
        todo = [c.device for c in mine if Action(c.action).writes and c.device_id]
        groups = {c.device: _groups_of(live, c.device, memo) for c in mine}
        plan = strategies.plan_rollout(spec, todo, done, groups)
        held = "" if ours else _held(rid, markers, _failures(live, name, rid, {c.device_id for c in mine}))
        notes = plan.notes + _earlier(name, rid, markers)
        out[name] = with_windows(replace(plan, id=rid, done=tuple(done), held=held, notes=notes), groups, now)
    return out


def expected_rollout_ids(desired: D.Desired) -> list[str]:
    """The rollout ids `rollout_plans` gives each set, from the desired state alone: known before
    the deployments are read. A device that only what is deployed blocks (a drifted staged
    deployment) changes its set's id; the caller reads that one again."""
    targets: dict[str, set[tuple[str | None, tuple[str, ...]]]] = {name: set() for name in desired.rollouts}
    keys = Memo().keys_of  # (one tuple per configs tuple, not per device)
    for dd in desired.devices:
        if dd.deployment_set in targets and dd.release is not None and unplannable(dd) is None:
            targets[dd.deployment_set].add((dd.release.version, keys(dd.configs)[0]))
    return [marker.rollout_id(name, t) for name, t in targets.items() if t]


def _groups_of(live: LiveState, device: str, memo: Memo) -> frozenset[str]:
    dev = live.devices.get(device)
    if dev is None:
        return frozenset()
    if dev.group_id not in memo.groups:  # the names depend on the group alone
        memo.groups[dev.group_id] = live.group_names(dev)
    return memo.groups[dev.group_id]


def _target_marker(live: LiveState, device: str, memo: Memo) -> marker.Marker | None:
    dev = live.devices.get(device)
    if dev is None:
        return None
    target = memo.targets[dev.id] if dev.id in memo.targets else live.target_deployment(dev)
    if target is None:
        return None
    if target.description not in memo.markers:  # one rollout's devices share a description
        memo.markers[target.description] = marker.parse(target.description)
    return memo.markers[target.description]


def _failures(live: LiveState, name: str, rid: str, device_ids: set[str | None]) -> list[str]:
    """Devices of the set where this rollout's deployment failed (the platform keeps them archived)."""
    if not live.failed:
        return []
    names = {d.id: d.name for d in live.devices.values()}
    out = set()
    for d in live.failed:
        m = marker.parse(d.description)
        if m is not None and (m.deployment_set, m.rollout) == (name, rid) and d.device_id in device_ids:
            out.add(names.get(d.device_id, d.device_id))
    return sorted(out)


def _held(rid: str, markers: Mapping[str, marker.Marker | None], failed: Sequence[str]) -> str:
    """Why this content is not rolled out again: it failed (and whatever took it was rolled back),
    and no device of the set runs it now."""
    undone = sorted(d for d, m in markers.items() if m is not None and m.undo == rid)
    if not undone and not failed:
        return ""
    why = next((m.why for m in markers.values() if m is not None and m.undo == rid and m.why), None)
    where = ", ".join([*failed[:5], *(["…"] if len(failed) > 5 else [])])
    parts = [f"failed on {where}" if failed else f"failed ({(why or 'failed').replace('-', ' ')})"]
    if why == "aborted" and not failed:  # `apply --abort --revert`: a person's decision, not a failure
        parts = ["was aborted"]
    if undone:
        parts.append(f"was rolled back on {', '.join(undone[:5])}{' …' if len(undone) > 5 else ''}")
    return f"rollout {rid} of this content {' and '.join(parts)}; change the content, or apply with --retry-failed"


def _earlier(name: str, rid: str, markers: Mapping[str, marker.Marker | None]) -> tuple[str, ...]:
    """Other rollouts of this set still on some of its devices: content the manifests moved on from."""
    seen: dict[str, list[str]] = {}
    for device, m in markers.items():
        if m is not None and m.deployment_set == name and not m.is_rollback and m.rollout != rid:
            seen.setdefault(m.rollout, []).append(device)
    return tuple(
        f"earlier rollout {r} reached {len(ds)} of {len(markers)} devices; this content starts its own rollout"
        for r, ds in sorted(seen.items())
        if len(ds) < len(markers)
    )


def mark_origin(plan: Plan, head: D.Desired, base: D.Desired) -> Plan:
    """With `--base`, per field: a diff is this branch's `change` when the base manifests want
    another value there, `drift` when they want the same one (the live value was changed
    outside git). A device with both is `change + drift`, so a reviewer sees that a merge
    overwrites a manual fix. Blocked devices get no origin."""
    heads = {dd.name: dd for dd in head.devices}
    bases = {dd.name: dd for dd in base.devices}
    cache: dict[tuple[Any, ...], tuple[PathT, ...]] = {}
    out = []
    for ch in plan.changes:
        if ch.action in CHANGE_ACTIONS and ch.device in heads:
            ch = _with_origin(ch, heads[ch.device], bases.get(ch.device), cache)
        out.append(ch)
    return Plan(**{**plan.__dict__, "changes": tuple(out)})


def _with_origin(
    ch: DeviceChange,
    hd: D.DesiredDevice,
    bd: D.DesiredDevice | None,
    cache: dict[tuple[Any, ...], tuple[PathT, ...]],
) -> DeviceChange:
    fields = [d.path for d in ch.config_diffs]
    if ch.release_from != ch.release_to:
        fields.append(RELEASE)
    if bd is None or bd.blocked is not None or not fields:
        same = bd is not None and _fingerprint(bd) == _fingerprint(hd)
        return dataclasses.replace(ch, origin=Origin.DRIFT if same else Origin.CHANGE)
    changed = _changed_paths(hd, bd, cache)
    drift = tuple(
        f
        for f in fields
        if (f == RELEASE and bd.release_version == hd.release_version)
        or (f != RELEASE and not any(_related(f, p) for p in changed))
    )
    origin = (
        Origin.DRIFT if len(drift) == len(fields) else Origin.CHANGE_AND_DRIFT if drift else Origin.CHANGE
    )
    return dataclasses.replace(
        ch, origin=origin, drift_fields=drift if origin == Origin.CHANGE_AND_DRIFT else ()
    )


def _changed_paths(
    hd: D.DesiredDevice, bd: D.DesiredDevice, cache: dict[tuple[Any, ...], tuple[PathT, ...]]
) -> tuple[PathT, ...]:
    """The config paths whose desired value differs between the base and this branch."""
    sig = (tuple(c.key for c in hd.configs), tuple(c.key for c in bd.configs))
    if sig not in cache:
        want = {(c.config_type, c.slot_key): c for c in hd.configs}
        had = {(c.config_type, c.slot_key): c for c in bd.configs}
        paths: list[PathT] = []
        for k in sorted(set(want) | set(had)):
            h, b = want.get(k), had.get(k)
            if h is not None and b is not None and h.key == b.key:
                continue
            paths += [d.path for d in config_diffs(k, b.content if b else None, h.content if h else None)]
        cache[sig] = tuple(paths)
    return cache[sig]


def _related(a: PathT, b: PathT) -> bool:
    """One path is the other or lies under it (`x.safety` and `x.safety.mode`)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _fingerprint(dd: D.DesiredDevice) -> tuple[Any, ...]:
    return (dd.release_version, dd.activation, tuple(c.key for c in dd.configs), dd.blocked)


def desired_versions(project: Project) -> list[str]:
    versions = {ds.release for ds in project.sets}
    versions |= {o.release for ds in project.sets for o in ds.overrides if o.release}
    return sorted(versions)


def resolved(
    project: Project, live: LiveState, only: Collection[str] | None = None, *, partial: bool = False
) -> D.Desired:
    """The manifests resolved against live state (`only`: the sets to plan; `partial`: only some
    of their devices were read). Manifest errors that only show against the platform (unknown
    groups, a device in two sets) raise ValidationFailed."""
    desired = D.resolve(project, live, only, partial=partial)
    if desired.problems:
        raise ValidationFailed(list(desired.problems), project.root)
    return desired


def unenrolled(desired: D.Desired) -> list[LiveDevice]:
    """Desired devices with no working agent, whose enrollment history explains why."""
    return [
        dd.device
        for dd in desired.devices
        if dd.device is not None and dd.device.status in ("inactive", "activating")
    ]
