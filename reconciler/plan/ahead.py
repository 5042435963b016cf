"""Planning devices while the deployments are still being read.

The deployments come a page at a time, in id order, so no page says a device's deployments are
complete. Each device is planned as soon as one of its deployments arrives (again if another
arrives later), against what is known then. Once everything is read, `plan_from` keeps a
device's early change only if what planning it reads is the same as in the final state: the
same target deployment and staged deployments (the same objects, in the same order), the same
releases and the same config instances. Otherwise it plans that device again. So the plan is
exactly the plan made after the read; only the work moves into the read's idle time (at
10,000 devices, the 60-90 ms that followed the last page).

Pure: no I/O. `commands/early_reads.py` feeds it and gives it time on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from reconciler.model.live import LiveDeployment, LiveState
from reconciler.model.plan import DeviceChange
from reconciler.plan import desired as D
from reconciler.plan.build import Memo, plan_device, unplannable


@dataclass
class _Early:
    change: DeviceChange
    target: LiveDeployment | None
    staged: list[LiveDeployment]


@dataclass
class Ahead:
    """What the catalog (devices, groups, releases, schemas, the newest instances) and the
    deployments read so far say. `add` each page of deployments; `start` once the manifests are
    resolved; `plan` some of the devices waiting; `reuse` at the end."""

    catalog: LiveState
    memo: Memo = field(default_factory=Memo)
    _deployments: dict[str, LiveDeployment] = field(default_factory=dict)
    _by_device: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _waiting: dict[str, None] = field(default_factory=dict)  # device ids, in arrival order
    _devices: dict[str, D.DesiredDevice] | None = None  # device id -> its desired state
    _early: dict[str, _Early] = field(default_factory=dict)  # by device name
    live: LiveState = field(init=False)
    reused: int = 0  # early changes `plan_from` kept (for tests and benchmarks)

    def __post_init__(self) -> None:
        # The same dicts, filled as pages arrive: planning reads them through `live`.
        self.live = replace(self.catalog, deployments=self._deployments, by_device=self._by_device)

    def add(self, page: list[LiveDeployment]) -> None:
        for dep in page:
            self._deployments[dep.id] = dep
            self._by_device[dep.device_id] = (*self._by_device.get(dep.device_id, ()), dep.id)
            self._waiting[dep.device_id] = None

    def start(self, desired: D.Desired) -> None:
        """The devices worth planning early: those with a device on the platform and nothing
        that blocks them whatever is deployed (those are cheap, and need the enrollment
        diagnostics read after)."""
        self._devices = {
            dd.device.id: dd for dd in desired.devices if dd.device is not None and unplannable(dd) is None
        }

    @property
    def waiting(self) -> int:
        return len(self._waiting) if self._devices is not None else 0

    def plan(self, limit: int) -> None:
        """Plan up to `limit` of the devices whose deployments changed since they were planned."""
        devices = self._devices
        if devices is None:
            return
        live, memo = self.live, self.memo
        for _ in range(min(limit, len(self._waiting))):
            device_id = next(iter(self._waiting))
            del self._waiting[device_id]
            dd = devices.get(device_id)
            if dd is None or dd.device is None:
                continue
            target, staged = live.target_and_staged(dd.device)
            self._early[dd.name] = _Early(plan_device(dd, live, memo=memo), target, staged)

    def reuse(self, live: LiveState) -> Reuse | None:
        """What `plan_from` may keep against the final `live`: nothing when the releases or the
        instances differ from those planned against (read after the deployments, rarely)."""
        if self._devices is None or not self._early:
            return None
        same = (
            live.releases.keys() == self.catalog.releases.keys()
            and live.instances.keys() == self.catalog.instances.keys()
            and live.schemas is self.catalog.schemas
            and live.devices is self.catalog.devices
        )
        return Reuse(self, live) if same else None


@dataclass
class Reuse:
    """`plan_from`'s view of an `Ahead`: a device's early change, if still right."""

    ahead: Ahead
    live: LiveState

    @property
    def memo(self) -> Memo:
        return self.ahead.memo

    def __call__(self, dd: D.DesiredDevice) -> DeviceChange | None:
        early = self.ahead._early.get(dd.name)
        devices = self.ahead._devices or {}
        if early is None or dd.device is None or devices.get(dd.device.id) is not dd:
            return None
        target, staged = self.live.target_and_staged(dd.device)
        if target is not early.target or len(staged) != len(early.staged):
            return None
        if any(a is not b for a, b in zip(staged, early.staged, strict=True)):
            return None
        self.ahead.memo.targets[dd.device.id] = target  # (what rollout_plans reads of it)
        self.ahead.reused += 1
        return early.change
