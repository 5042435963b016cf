"""The plan is immutable data: what `plan` prints is exactly what `apply` executes.

A config diff is kopf-style immutable data `(op, path, old, new)` whose path is a tuple of
keys and indices, rendered only by the renderers. `to_dict`/`from_dict` round-trip through
`schemas/plan.schema.json` (FORMAT_VERSION).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from reconciler.model.enums import Action, BlockReason, DiffOp, Origin
from reconciler.model.rollout import RolloutPlan

# 2: rollouts carry the effective spec and the waves. 3: a diff's path is a list of keys and
# indices (a key holding "." or "[" read ambiguously as a dotted string), and a value that a
# layered DeploymentSet (`extends:`) decides names the set it came from (`source`).
FORMAT_VERSION = 3

PathT = tuple[str | int, ...]
RELEASE: PathT = ("release",)  # drift_fields' entry for the release (a config path has two parts or more)

ACTIONS: tuple[Action, ...] = (
    Action.DEPLOY,
    Action.UPGRADE,
    Action.STAGE,
    Action.RESTAGE,
    Action.NOOP,
    Action.BLOCKED,
)  # the order plans list and count them in


@dataclass(frozen=True)
class ValueSource:
    """Where a planned value is written: the DeploymentSet layer that decides it (with
    `extends:`, the base or the set extending it) and the file, line and column."""

    deployment_set: str
    file: str | None = None
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class ConfigDiff:
    """One field-level change, e.g. ("change", ("motion-control", "default", "max_speed"), 1.0, 1.2).
    The path is the config type slug, the slot key, then the keys and list indices inside the
    content (the whole content when nothing follows the slot). `source` is set for devices
    whose values come from more than one DeploymentSet layer."""

    op: DiffOp
    path: PathT
    old: Any = None
    new: Any = None
    source: ValueSource | None = None


@dataclass(frozen=True)
class PlannedInstance:
    """A config instance the deployment needs. `key` is its content address:
    sha256 over (config_schema_id, slot_key, canonical content). `existing_id` is set
    when an identical instance already exists on the platform (reused, not created)."""

    key: str
    config_type: str
    config_schema_id: str
    slot_key: str
    format: str  # instance_format
    data: str  # canonical content, exactly as it will be uploaded ("" in a saved plan when sealed)
    existing_id: str | None = None
    # Holds a secret field: a saved plan keeps only the content's digest (`key`), and apply reads
    # the content again from the manifests, refusing when it is not what was reviewed.
    sealed: bool = False

    def saved(self) -> dict[str, Any]:
        d = asdict(self)
        if self.sealed:
            d["data"] = ""
        return d


@dataclass(frozen=True)
class DeviceChange:
    device: str
    device_id: str | None
    action: Action
    deployment_set: str | None
    release_from: str | None = None
    release_to: str | None = None
    release_to_id: str | None = None
    config_diffs: tuple[ConfigDiff, ...] = ()
    instance_keys: tuple[str, ...] = ()  # PlannedInstance keys, one per slot
    parent_token: str | None = None  # the device's current target deployment id at plan time
    archive_ids: tuple[str, ...] = ()  # staged/drifted deployments to archive after the write
    reason: str | None = None  # for blocked (and for noteworthy noops)
    offline: bool = False  # the write will queue until the device is online
    origin: Origin | None = None  # with --base: from this branch's manifest change, or pre-existing drift
    # with --base: the diff paths (and ("release",) for the release) drift accounts for
    drift_fields: tuple[PathT, ...] = ()
    diagnostics: tuple[str, ...] = ()  # e.g. enrollment error logs for inactive devices
    reason_code: BlockReason | None = None  # why blocked
    release_source: ValueSource | None = None  # a layered device: the layer its release comes from


@dataclass(frozen=True)
class UnmanagedDevice:
    device: str
    group: str | None  # the group's name; None: in no group
    status: str


@dataclass(frozen=True)
class RemovedSet:
    """A DeploymentSet the platform's markers (or the `--base` manifests) know and the
    manifests no longer have: its devices keep their config and nobody manages them."""

    name: str
    devices: tuple[str, ...]  # its devices that no set selects now
    found_in: tuple[str, ...]  # "platform" (deployment markers), "base" (the --base manifests)


@dataclass(frozen=True)
class Unmanaged:
    """Devices no DeploymentSet selects (archived ones aside), and removed sets. `policy` is
    reconcile.yaml's `unmanaged:` (ignore, warn, error)."""

    policy: str = "warn"
    devices: tuple[UnmanagedDevice, ...] = ()
    removed_sets: tuple[RemovedSet, ...] = ()

    def by_group(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.devices:
            counts[d.group or ""] = counts.get(d.group or "", 0) + 1
        return dict(sorted(counts.items()))

    @property
    def found(self) -> bool:
        return bool(self.devices or self.removed_sets)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "count": len(self.devices),
            "by_group": self.by_group(),
            "devices": [asdict(d) for d in self.devices],
            "removed_sets": [
                {"name": r.name, "devices": list(r.devices), "found_in": list(r.found_in)}
                for r in self.removed_sets
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Unmanaged:
        return cls(
            policy=str(data.get("policy", "warn")),
            devices=tuple(UnmanagedDevice(**d) for d in data.get("devices", ())),
            removed_sets=tuple(
                RemovedSet(name=r["name"], devices=tuple(r["devices"]), found_in=tuple(r["found_in"]))
                for r in data.get("removed_sets", ())
            ),
        )


@dataclass(frozen=True)
class Plan:
    changes: tuple[DeviceChange, ...]
    instances: tuple[PlannedInstance, ...] = ()
    rollouts: dict[str, RolloutPlan] = field(default_factory=dict)  # DeploymentSet name -> its rollout
    commit: str | None = None  # git commit of the manifests, when known
    target: str = ""  # "emulator:<db>" or the base URL (never a key)
    created_at: str = ""
    format_version: int = FORMAT_VERSION
    notes: tuple[str, ...] = ()  # what was not checked (content of cue or opaque schemas)
    unmanaged: Unmanaged | None = None  # None: a --set/--device run, which looks at its part only
    max_devices_per_apply: int = 0  # the project's `limits.max_devices_per_apply` (0 = none)
    # A DeploymentSet that extends another -> the sets it is layered over, nearest first.
    layers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {a: 0 for a in ACTIONS}
        for c in self.changes:
            counts[c.action] += 1
        counts["instances_to_create"] = sum(1 for i in self.instances if i.existing_id is None)
        return counts

    @property
    def devices_to_change(self) -> int:
        """Devices apply would write to: the number the blast-radius limit counts."""
        return sum(1 for c in self.changes if Action(c.action).writes)

    @property
    def has_changes(self) -> bool:
        s = self.summary()
        return any(s[a] for a in ("deploy", "upgrade", "stage", "restage")) or s["instances_to_create"] > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "created_at": self.created_at,
            "commit": self.commit,
            "target": self.target,
            "summary": self.summary(),
            "rollouts": {k: v.to_dict() for k, v in sorted(self.rollouts.items())},
            "instances": [i.saved() for i in self.instances],
            "changes": [_change_to_dict(c) for c in self.changes],
            "notes": list(self.notes),
            "unmanaged": self.unmanaged.to_dict() if self.unmanaged is not None else None,
            **(
                {
                    "limits": {
                        "max_devices_per_apply": self.max_devices_per_apply,
                        "devices": self.devices_to_change,
                    }
                }
                if self.max_devices_per_apply
                else {}
            ),
            **({"layers": {k: list(v) for k, v in sorted(self.layers.items())}} if self.layers else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            format_version=int(data["format_version"]),
            created_at=str(data.get("created_at", "")),
            commit=data.get("commit"),
            target=str(data.get("target", "")),
            rollouts={k: RolloutPlan.from_dict(v) for k, v in data.get("rollouts", {}).items()},
            instances=tuple(PlannedInstance(**i) for i in data.get("instances", [])),
            changes=tuple(_change_from_dict(c) for c in data["changes"]),
            notes=tuple(str(n) for n in data.get("notes", ())),
            unmanaged=Unmanaged.from_dict(data["unmanaged"]) if data.get("unmanaged") else None,
            max_devices_per_apply=int((data.get("limits") or {}).get("max_devices_per_apply", 0)),
            layers={k: tuple(v) for k, v in (data.get("layers") or {}).items()},
        )


def _change_to_dict(c: DeviceChange) -> dict[str, Any]:
    d = asdict(c)
    d["config_diffs"] = [diff_to_dict(x) for x in c.config_diffs]
    d["instance_keys"] = list(c.instance_keys)
    d["archive_ids"] = list(c.archive_ids)
    d["diagnostics"] = list(c.diagnostics)
    d["drift_fields"] = [list(p) for p in c.drift_fields]
    return d


def diff_to_dict(d: ConfigDiff) -> dict[str, Any]:
    out = asdict(d)
    out["path"] = list(d.path)
    return out


def diff_from_dict(x: dict[str, Any]) -> ConfigDiff:
    source = x.get("source")
    return ConfigDiff(
        op=DiffOp(x["op"]),
        path=tuple(x["path"]),
        old=x.get("old"),
        new=x.get("new"),
        source=ValueSource(**source) if source else None,
    )


def _change_from_dict(d: dict[str, Any]) -> DeviceChange:
    d = dict(d)
    d["config_diffs"] = tuple(diff_from_dict(x) for x in d.get("config_diffs", []))
    for k in ("instance_keys", "archive_ids", "diagnostics"):
        d[k] = tuple(d.get(k, ()))
    d["drift_fields"] = tuple(tuple(p) for p in d.get("drift_fields", ()))
    d["release_source"] = ValueSource(**d["release_source"]) if d.get("release_source") else None
    d["action"] = Action(d["action"])
    for key, enum in (("reason_code", BlockReason), ("origin", Origin)):
        d[key] = enum(d[key]) if d.get(key) is not None else None
    return DeviceChange(**d)
