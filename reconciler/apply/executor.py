"""The apply loop: config instances first, then each DeploymentSet's rollout (concurrently,
each with its own waves, health gates and failure budget; `reconciler.apply.rollout`), then
the ledger, with the devices the plan blocked at the end.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.apply import control, guard
from reconciler.apply import record as rec
from reconciler.apply.clock import Clock
from reconciler.apply.ledger import HELD_BACK, LedgerEntry, exit_code, left_alone
from reconciler.apply.progress import Reporter, Silent
from reconciler.apply.rollout import SetRollout
from reconciler.apply.turns import paced, release
from reconciler.errors import PermissionDenied, ReconcileError
from reconciler.model.enums import DeviceOutcome, RolloutState
from reconciler.model.plan import DeviceChange, Plan
from reconciler.model.rollout import RolloutPlan
from reconciler.platform import writes
from reconciler.platform.client import Platform
from reconciler.platform.converge import LostInstance

ACTIONABLE = ("deploy", "upgrade", "stage", "restage")
SLICE = 2000  # changes walked between two turns of the event loop


@dataclass(frozen=True)
class ApplyResult:
    records: tuple[rec.RolloutRecord, ...]
    ledger: tuple[LedgerEntry, ...]
    blocked: tuple[DeviceChange, ...] = ()
    requests: int = 0
    lost_instances: tuple[LostInstance, ...] = ()  # this run's instances another apply's beat

    @property
    def exit_code(self) -> int:
        return exit_code(self.ledger)


def _versions(values: list[str | None]) -> str:
    return ",".join(sorted({v for v in values if v}))


def blocked_changes(plan: Plan) -> tuple[DeviceChange, ...]:
    return tuple(c for c in plan.changes if c.action == "blocked")


def blocked_ledger(blocked: tuple[DeviceChange, ...]) -> tuple[LedgerEntry, ...]:
    """Blocked devices in the ledger: not attempted, with the plan's reason and code."""
    return tuple(
        LedgerEntry(
            device=c.device,
            deployment_set=c.deployment_set or "-",
            action="blocked",
            state=DeviceOutcome.NOT_ATTEMPTED,
            reason=c.reason or "",
            reason_code=c.reason_code or "blocked",
        )
        for c in blocked
    )


async def check_waves(name: str, rollout: RolloutPlan, changes: list[DeviceChange]) -> None:
    """Apply runs the waves as planned: each device to write to is in exactly one wave. In
    slices, letting the event loop run between them (100,000 devices: tens of ms)."""
    planned: set[str] = set()
    count = 0
    for w in rollout.waves:
        for i in range(0, len(w.devices), SLICE):
            part = w.devices[i : i + SLICE]
            planned.update(part)
            count += len(part)
            await asyncio.sleep(0)
    want: set[str] = set()
    for i in range(0, len(changes), SLICE):
        want.update(c.device for c in changes[i : i + SLICE])
        await asyncio.sleep(0)
    if count != len(planned) or planned != want:
        raise ReconcileError(
            f"the plan's waves for DeploymentSet {name} do not match its changes (the plan was edited or damaged)",
            hint="make the plan again with `reconcile plan --out`",
        )


async def execute(
    plan: Plan,
    platform: Platform,
    *,
    root: Path,
    clock: Clock,
    reporter: Reporter | None = None,
    promote: bool = False,
    retry_failed: bool = False,
    force: bool = False,
    stop: Callable[[], bool] | None = None,
) -> ApplyResult:
    # What exists now (the plan, the live state) and the rollouts' devices live until the end:
    # frozen, the garbage collector's full passes skip them. Unfrozen, each pass walked them
    # all and held the event loop (0.4 s at 5,000 devices, seconds at 100,000; a fifth of
    # the CPU). Frozen objects are still freed by reference counting; `unfreeze` hands them
    # back to the collector for a process that goes on (`reconcile watch`).
    gc.freeze()
    try:
        return await _execute(
            plan,
            platform,
            root=root,
            clock=clock,
            reporter=reporter or Silent(),
            promote=promote,
            retry_failed=retry_failed,
            force=force,
            stop=stop,
        )
    finally:
        gc.unfreeze()


async def _execute(
    plan: Plan,
    platform: Platform,
    *,
    root: Path,
    clock: Clock,
    reporter: Reporter,
    promote: bool,
    retry_failed: bool,
    force: bool,
    stop: Callable[[], bool] | None,
) -> ApplyResult:
    # The plan as JSON once, off the event loop (seconds at 100,000 devices): its digest names
    # the rollouts, and its copy beside the records is what a rerun resumes.
    # It is a tree of a few objects per device with no cycles: a collection while it grows
    # (in the thread, holding the interpreter) would walk all of it, so none runs until it is
    # frozen with the rest.
    enabled = gc.isenabled()
    gc.disable()
    try:
        data = await asyncio.to_thread(plan.to_dict)
        digest = await asyncio.to_thread(rec.plan_digest, plan, data)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
    by_set, members = await _grouped(plan)
    blocked = blocked_changes(plan)
    missing = sorted(n for n in by_set if n not in plan.rollouts)
    if missing:  # never guess a strategy: a canary set must not go out all at once
        raise ReconcileError(
            f"the plan has no rollout spec for DeploymentSet {', '.join(missing)}",
            hint="make the plan again with `reconcile plan --out`",
        )
    held: list[LedgerEntry] = []
    rollouts: list[SetRollout] = []
    for name, changes in sorted(by_set.items()):
        rollout = plan.rollouts[name]
        await check_waves(name, rollout, changes)
        if rollout.held and not retry_failed:
            reporter.note(name, f"held back: {rollout.held}")
            held += held_ledger(name, changes, rollout.held)
            continue
        if rollout.control is not None:  # a person paused or aborted it (apply.control)
            reporter.note(name, control.reason(rollout.control))
            held += control.halted_ledger(name, changes, rollout.control)
            continue
        rollouts.append(
            _set_rollout(plan, digest, root, name, changes, rollout, platform, clock, reporter, promote)
        )
    await guard.one_writer(platform, clock, [r for r in rollouts if r.will_write()], members, force=force)
    keys = {k for r in rollouts if r.will_write() async for c in paced(r.changes) for k in c.instance_keys}
    instances = [i for i in plan.instances if i.key in keys]
    unread = sorted({i.config_type for i in instances if i.sealed and not i.data})
    if unread:  # a saved plan's secret content is a digest: never upload it empty
        raise ReconcileError(f"the plan holds the secret content of {', '.join(unread)} only as a digest")
    created: list[str] = []
    lost: list[LostInstance] = []
    ids = await writes.ensure_instances(platform, instances, created, lost)
    if created:  # counted after the fact: a resumed or promoted rollout reuses what it made
        reporter.note("apply", f"config instances: {len(created)} created")
    for x in lost:
        reporter.note("apply", x.message())
    plan_file = await asyncio.to_thread(rec.save_plan, root, plan, digest, data) if rollouts else ""
    gc.freeze()  # the plan's JSON form lives until the end (freed then, not mid-rollout)
    for r in rollouts:
        r.instance_ids = ids
        if not r.resumed:
            r.record = replace(r.record, plan_file=plan_file)
            rec.save(root, r.record)  # before any deployment write: a rerun then looks for ours
            for old in rec.supersede(root, r.record):
                reporter.note(r.name, f"{old.id} canceled: {old.status.message}")
    for r in rollouts:
        r.stop = stop or r.stop
    records = await _run_all(rollouts, root, reporter)
    # Freed here a slice at a time, not all at once when this frame returns (apply.turns).
    await release(data, *(box for r in rollouts for box in r.held()))
    ledger = tuple(e for r in records for e in r.devices) + tuple(held) + blocked_ledger(blocked)
    return ApplyResult(
        records=tuple(records),
        ledger=ledger,
        blocked=blocked,
        requests=platform.requests,
        lost_instances=tuple(lost),
    )


async def _grouped(plan: Plan) -> tuple[dict[str, list[DeviceChange]], dict[str, list[str]]]:
    """DeploymentSet -> its changes to apply, and -> all its devices' ids (the one-writer
    check's), in slices: one pass over 100,000 changes held the event loop for tens of ms."""
    by_set: dict[str, list[DeviceChange]] = {}
    members: dict[str, list[str]] = {}
    for i, c in enumerate(plan.changes, start=1):
        if i % SLICE == 0:
            await asyncio.sleep(0)
        if c.action in ACTIONABLE and c.device_id:
            by_set.setdefault(c.deployment_set or "-", []).append(c)
        if c.device_id and c.deployment_set:
            members.setdefault(c.deployment_set, []).append(c.device_id)
    return by_set, members


async def _run_all(rollouts: list[SetRollout], root: Path, reporter: Reporter) -> list[rec.RolloutRecord]:
    """Every set's rollout at once. A write the key may not make stops them all: the error is
    the key's, not the devices', so nothing is counted failed or rolled back, and the records
    this run started (with nothing written) are removed."""
    tasks = [asyncio.create_task(r.run()) for r in rollouts]
    try:
        return list(await asyncio.gather(*tasks))
    except PermissionDenied:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for r in rollouts:
            if not r.resumed and not any(d.deployment_id for d in r.devs.values()):
                rec.remove(root, r.record.id)
        raise
    finally:
        reporter.close()


def _set_rollout(
    plan: Plan,
    digest: str,
    root: Path,
    name: str,
    changes: list[DeviceChange],
    rollout: RolloutPlan,
    platform: Platform,
    clock: Clock,
    reporter: Reporter,
    promote: bool,
) -> SetRollout:
    rid = rollout.id or rec.rollout_id(digest, name)
    existing = rec.load(root, rid)
    if existing is not None and existing.status.state == RolloutState.CANCELED:
        raise ReconcileError(
            f"rollout {rid} of this plan ({name}) was canceled: {existing.status.message}",
            hint="make a new plan (`reconcile plan`) and apply that",
        )
    record = existing or rec.RolloutRecord(
        id=rid,
        deployment_set=name,
        spec=rollout.spec,
        commit=plan.commit,
        target=plan.target,
        plan_digest=digest,
        from_version=_versions([c.release_from for c in changes]),
        to_version=_versions([c.release_to for c in changes]),
        status=rec.RolloutStatus(
            state=RolloutState.PENDING, created_at=rec.utc_now(), total_nodes=len(changes)
        ),
    )
    return SetRollout(
        name=name,
        changes=changes,
        plan=rollout,
        record=record,
        resumed=existing is not None,
        platform=platform,
        clock=clock,
        root=root,
        reporter=reporter,
        promote=promote,
        commit=plan.commit,
    )


def held_ledger(name: str, changes: list[DeviceChange], why: str) -> list[LedgerEntry]:
    return left_alone(name, changes, f"held back: {why}", HELD_BACK)
