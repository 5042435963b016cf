"""Planning devices while the deployments are still being read.

The deployments come a page at a time, in id order, so no page says a device's deployments are
complete. Each device is planned as soon as one of its deployments arrives (again if another
arrives later), against what is known then. Once everything is read, `plan_from` keeps a
device's early change only if planning it would read the same things now: the same
deployments, the same objects in the same order (each kept at its place in the list, so the
order the pages came in does not matter; the same target and staged ones), the same releases
and the same config instances. Otherwise it plans that device again. So the plan is
exactly the plan made after the read; only the work moves into the read's idle time (at
10,000 devices and 50 ms a round trip, the 60-90 ms that followed the last page).

Pure: no I/O. `commands/early_reads.py` feeds it and gives it time on the event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from reconciler.model.live import LiveDeployment, LiveState, split_deployments
from reconciler.model.plan import DeviceChange
from reconciler.plan import desired as D
from reconciler.plan.build import Memo, plan_device, unplannable

# Devices waiting to be planned early beyond which planning early stops: the pages arrive
# faster than they are planned. A fleet of 10,000 stays under it whatever comes while the
# manifests resolve; read with no latency at 100,000 devices, the backlog passes it before
# planning early has begun (so nothing planned early is thrown away).
BACKLOG = 20_000


@dataclass
class Ahead:
    """What the catalog (devices, groups, releases, schemas, the newest instances) and the
    deployments read so far say. `add` each page of deployments; `start` once the manifests are
    resolved; `plan` some of the devices waiting; `reuse` at the end."""

    catalog: LiveState
    memo: Memo = field(default_factory=Memo)
    reused: int = 0  # early changes `plan_from` kept (for tests and benchmarks)
    gave_up: bool = False
    # Device id -> its deployments so far with their places in the whole list, in that order
    # (the final state's order, whatever order the pages came in; a new tuple whenever one
    # arrives).
    _mine: dict[str, tuple[tuple[int, LiveDeployment], ...]] = field(default_factory=dict)
    # Device ids to plan, in arrival order (taken from the front: a dict would walk the holes
    # its deletions leave there, again for each one taken).
    _waiting: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _devices: dict[str, D.DesiredDevice] | None = None  # device id -> its desired state
    _early: dict[str, DeviceChange] = field(default_factory=dict)  # by device id

    def add(self, page: list[LiveDeployment], offset: int) -> None:
        """A page of the deployments, `offset` its place in the list."""
        if self.gave_up:
            return
        mine, waiting = self._mine, self._waiting
        for place, dep in enumerate(page, start=offset):
            known = mine.get(dep.device_id)
            entry = (place, dep)
            mine[dep.device_id] = (entry,) if known is None else tuple(sorted((*known, entry), key=_place))
            waiting[dep.device_id] = None
        if len(waiting) > BACKLOG:
            self._give_up()

    def _give_up(self) -> None:
        """Pages come faster than devices are planned (no time between them: the read is
        CPU-bound, not waiting on the network): planning early saves nothing then, and what it
        holds (a few tens of MiB at 100,000 devices) is freed."""
        self.gave_up = True
        self._mine, self._waiting, self._early, self._devices = {}, OrderedDict(), {}, None

    def start(self, desired: D.Desired) -> None:
        """The devices worth planning early: those with a device on the platform and nothing
        that blocks them whatever is deployed (those are cheap, and need the enrollment
        diagnostics read after)."""
        if self.gave_up:
            return
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
        live, memo, waiting = self.catalog, self.memo, self._waiting
        for _ in range(min(limit, len(waiting))):
            device_id, _ = waiting.popitem(last=False)
            dd = devices.get(device_id)
            if dd is None or dd.device is None:
                continue
            target, staged = split_deployments(d for _, d in self._mine[device_id])
            if target is None and dd.device.current_deployment_id:
                continue  # its target is named by the device: left to the final plan
            self._early[device_id] = plan_device(dd, live, memo=memo, found=(target, staged))

    def reuse(self, live: LiveState) -> Reuse | None:
        """What `plan_from` may keep against the final `live`: nothing when the releases or the
        instances differ from those planned against (read after the deployments, rarely)."""
        if self._devices is None or not self._early:
            return None
        catalog = self.catalog
        same = (
            live.releases.keys() == catalog.releases.keys()
            and live.instances.keys() == catalog.instances.keys()
            and live.schemas is catalog.schemas
            and live.devices is catalog.devices
        )
        return Reuse(self, live) if same else None


@dataclass
class Reuse:
    """`plan_from`'s view of an `Ahead`: a device's early change, if it still holds."""

    ahead: Ahead
    live: LiveState

    @property
    def memo(self) -> Memo:
        return self.ahead.memo

    def __call__(self, dd: D.DesiredDevice) -> DeviceChange | None:
        ahead, dev = self.ahead, dd.device
        change = ahead._early.get(dev.id) if dev is not None else None
        if change is None or dev is None or dev.id in ahead._waiting:
            return None
        if (ahead._devices or {}).get(dev.id) is not dd:
            return None
        mine = ahead._mine[dev.id]
        ids = self.live.by_device.get(dev.id, ())
        if len(ids) != len(mine):
            return None
        get = self.live.deployments.get
        if len(ids) == 1:  # the usual case, checked without a generator (10,000 times a plan)
            if get(ids[0]) is not mine[0][1]:
                return None
        elif any(get(i) is not d for i, (_, d) in zip(ids, mine, strict=True)):
            return None
        # (`memo.targets` holds this device's target: its early planning set it.)
        ahead.reused += 1
        return change


def _place(entry: tuple[int, LiveDeployment]) -> int:
    return entry[0]
