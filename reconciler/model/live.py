"""Live state: what the platform says is true now, as plain data (read by `reconciler.platform.live`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.model.enums import ActivityStatus, DeviceStatus, ErrorStatus, TargetStatus

LIVE_TARGETS = ("staged", "deployed")  # non-archived deployments (drifted ones have target staged)


@dataclass(frozen=True, slots=True)
class LiveGroup:
    id: str
    name: str
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class LiveConfigType:
    id: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class LiveSlot:
    key: str
    filepath: str
    required: bool


@dataclass(frozen=True, slots=True)
class LiveSchema:
    id: str
    config_type_id: str
    config_type_slug: str
    language: str  # jsonschema | cue | opaque
    instance_format: str  # json | yaml | jsonc | xml | text
    slots: tuple[LiveSlot, ...]
    documents: tuple[tuple[str, str], ...] = ()  # (name, data); empty until fetched
    digest: str = ""

    def slot(self, key: str) -> LiveSlot | None:
        return next((s for s in self.slots if s.key == key), None)


@dataclass(frozen=True, slots=True)
class LiveRelease:
    id: str
    version: str
    schema_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)  # slots: 100,000 of some of these are held at once
class LiveInstance:
    id: str
    config_schema_id: str
    config_type_id: str
    slot_key: str
    filepath: str = ""
    format: str | None = None  # instance content format; None until content is fetched
    data: str | None = None  # the content exactly as stored
    created_at: str = ""


@dataclass(frozen=True, slots=True)  # slots: 100,000 of some of these are held at once
class LiveDeployment:
    id: str
    device_id: str
    release_id: str
    target_status: TargetStatus
    activity_status: ActivityStatus
    error_status: ErrorStatus
    status: str  # the platform's merged status (an error wins over the activity), as shown
    description: str
    instance_ids: tuple[str, ...]
    created_at: str = ""
    parent_id: str | None = None


def parse_time(stamp: str) -> datetime:
    """A platform timestamp as a datetime (any precision, `Z` or an offset); unparseable or
    empty is the oldest. Never compared as text: '..:01Z' > '..:01.5Z' as strings."""
    try:
        t = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def newest(deployments: Iterable[LiveDeployment]) -> LiveDeployment | None:
    """The most recently created deployment. Same-instant ties are broken by the parent chain
    (a deployment created with another as its parent came after it), never by id: ids need
    not sort by time."""
    deps = list(deployments)
    if len(deps) < 2:  # the usual case: nothing to compare (and no timestamp to parse)
        return deps[0] if deps else None
    latest = max(parse_time(d.created_at) for d in deps)
    tied = [d for d in deps if parse_time(d.created_at) == latest]
    parents = {d.parent_id for d in tied}
    heads = [d for d in tied if d.id not in parents] or tied
    return min(heads, key=lambda d: d.id)  # only truly unordered ties are left: any fixed pick


@dataclass(frozen=True, slots=True)  # slots: 100,000 of some of these are held at once
class LiveDevice:
    id: str
    name: str
    status: DeviceStatus
    group_id: str | None
    current_release_id: str | None = None
    current_release_version: str | None = None
    current_deployment_id: str | None = None


@dataclass(frozen=True)
class LiveState:
    devices: Mapping[str, LiveDevice]  # by name
    groups: Mapping[str, LiveGroup]  # by id
    config_types: Mapping[str, LiveConfigType]  # by id
    releases: Mapping[str, LiveRelease]  # by id (the desired ones and every device's current one)
    schemas: Mapping[str, LiveSchema]  # by id
    deployments: Mapping[str, LiveDeployment]  # by id, non-archived only
    instances: Mapping[str, LiveInstance]  # by id, with content
    requests: int = 0  # requests spent reading this state
    by_device: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # device id -> deployment ids
    # The most recent failed deployments (archived, so not among `deployments`): what failed and
    # was rolled back is not rolled out again.
    failed: tuple[LiveDeployment, ...] = ()

    # Small lookups the planner needs; the maps are small enough to scan.
    def release_by_version(self, version: str) -> LiveRelease | None:
        return next((r for r in self.releases.values() if r.version == version), None)

    def group_by_name(self, name: str) -> LiveGroup | None:
        return next((g for g in self.groups.values() if g.name == name), None)

    def group_names(self, device: LiveDevice) -> frozenset[str]:
        """The names of the device's group and of every group above it."""
        out: set[str] = set()
        seen: set[str] = set()  # a cycle in hostile data must not loop forever
        gid = device.group_id
        while gid and gid in self.groups and gid not in seen:
            seen.add(gid)
            out.add(self.groups[gid].name)
            gid = self.groups[gid].parent_id
        return frozenset(out)

    def type_by_slug(self, slug: str) -> LiveConfigType | None:
        return next((t for t in self.config_types.values() if t.slug == slug), None)

    def deployments_of(self, device_id: str) -> list[LiveDeployment]:
        return [self.deployments[i] for i in self.by_device.get(device_id, ()) if i in self.deployments]

    def target_deployment(self, device: LiveDevice) -> LiveDeployment | None:
        """The device's current target: the live deployment with target_status deployed (the
        API's `target_deployment_id`, the parent_id token), else its current deployment."""
        return self.target_and_staged(device)[0]

    def staged_deployments(self, device_id: str) -> list[LiveDeployment]:
        return [d for d in self.deployments_of(device_id) if d.target_status == "staged"]

    def target_and_staged(self, device: LiveDevice) -> tuple[LiveDeployment | None, list[LiveDeployment]]:
        """`target_deployment` and `staged_deployments` from one walk of the device's deployments
        (a plan asks both of every device)."""
        get = self.deployments.get
        found, staged = split_deployments(d for i in self.by_device.get(device.id, ()) if (d := get(i)))
        if found is None and device.current_deployment_id:
            found = get(device.current_deployment_id)
        return found, staged


def split_deployments(
    deployments: Iterable[LiveDeployment],
) -> tuple[LiveDeployment | None, list[LiveDeployment]]:
    """A device's deployments (in the order read) -> its target (the one deployed, the newest
    of several) and its staged ones, in that order."""
    deployed: list[LiveDeployment] = []
    staged: list[LiveDeployment] = []
    for d in deployments:
        if d.target_status == "deployed":
            deployed.append(d)
        elif d.target_status == "staged":
            staged.append(d)
    return (deployed[0] if len(deployed) == 1 else newest(deployed)), staged  # one: the usual case


@dataclass(frozen=True)
class DeviceScope:
    """The part of the fleet a run reads (`--set`, `--device`): the devices in `groups` (by
    name, subgroups included) or named in `names`, or every device when `every`; then
    deployments only for the devices `chosen` picks from those (names)."""

    groups: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    every: bool = False
    chosen: Callable[[Mapping[str, LiveDevice], Mapping[str, LiveGroup]], Collection[str]] | None = None
