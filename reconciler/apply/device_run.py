"""A device's progress through a rollout (`DeviceRun`) and the tally that keeps a rollout's
counts as its devices move (`Tally`): a save writes what changed, and the next step reads
the counts, without walking every device."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reconciler.apply.health import Track
from reconciler.apply.ledger import LedgerEntry, LedgerState
from reconciler.model.enums import DeviceOutcome
from reconciler.model.plan import DeviceChange

# The fields of a device's ledger entry: setting one marks the device for the next save.
TRACKED = frozenset({"state", "deployment_id", "rollback_id", "reason", "reason_code", "wave"})


class Tally:
    """What a rollout's devices did since the last save, kept as it happens: the devices whose
    entry changed (the next save writes those, never the whole ledger), how many devices are in
    each state, and the pending, succeeded and failed ones, so neither a save nor the next step
    walks every device."""

    def __init__(self, order: dict[str, int]) -> None:
        self.order = order  # device -> its place in plan order, for pending
        self.changed: dict[str, DeviceRun] = {}
        self.counts: Counter[str] = Counter()
        self.pending: dict[str, None] = {}  # in plan order
        self.succeeded: set[str] = set()
        self.failed: set[str] = set()
        self._unordered = False  # a device went back to pending: sort before the next read

    def add(self, d: DeviceRun) -> None:
        """Count `d` (added in plan order) and attach to it."""
        self.counts[d.state] += 1
        if d.state == "not_attempted":
            self.pending[d.name] = None
        elif d.state == "succeeded":
            self.succeeded.add(d.name)
        elif d.state == "failed":
            self.failed.add(d.name)
        d.tally = self

    def moved(self, name: str, old: str, new: str) -> None:
        self.counts[old] -= 1
        self.counts[new] += 1
        for states, value in ((self.succeeded, "succeeded"), (self.failed, "failed")):
            if old == value:
                states.discard(name)
            elif new == value:
                states.add(name)
        if old == "not_attempted":
            self.pending.pop(name, None)
        elif new == "not_attempted":
            self.pending[name] = None
            self._unordered = True

    def pending_names(self) -> tuple[str, ...]:
        if self._unordered:
            self.pending = dict.fromkeys(sorted(self.pending, key=self.order.__getitem__))
            self._unordered = False
        return tuple(self.pending)


@dataclass(eq=False)
class DeviceRun:
    """One device's progress through a rollout (executor-internal, mutable). Once a `Tally` is
    attached, setting a field of its ledger entry tells the tally."""

    change: DeviceChange
    wave: int
    state: LedgerState = DeviceOutcome.NOT_ATTEMPTED
    deployment_id: str | None = None
    rollback_id: str | None = None
    reason: str = ""
    reason_code: str | None = None
    track: Track | None = None
    own_target_status: str | None = None  # of our deployment found on resume
    may_land: bool = False  # failed at its deadline while still on its way: it could land later
    tally: Tally | None = field(default=None, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in TRACKED:
            tally = self.__dict__.get("tally")
            if tally is not None:
                old = self.__dict__[name]
                if old != value:
                    if name == "state":
                        tally.moved(self.change.device, old, value)
                    tally.changed[self.change.device] = self
        object.__setattr__(self, name, value)

    @property
    def name(self) -> str:
        return self.change.device

    @property
    def device_id(self) -> str:
        assert self.change.device_id is not None
        return self.change.device_id

    def entry(self, deployment_set: str) -> LedgerEntry:
        return LedgerEntry(
            device=self.name,
            deployment_set=deployment_set,
            action=self.change.action,
            state=self.state,
            wave=self.wave,
            deployment_id=self.deployment_id,
            rollback_deployment_id=self.rollback_id,
            reason=self.reason,
            reason_code=self.reason_code,
        )
