"""One DeploymentSet's rollout: its waves, health gates, failure budget, canary pause,
rollback and archives, driven by polling the platform on the executor's clock.

Every state change is saved to the rollout record before the next write, so a rerun of
the same plan (same rollout ids) resumes: devices already finished are skipped, and for the
rest the platform is asked what this rollout already wrote (matched on the description).
"""

from __future__ import annotations

import asyncio
import gc
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler import strategies
from reconciler.apply import control, guard, pace, undo
from reconciler.apply import record as rec
from reconciler.apply.clock import Clock
from reconciler.apply.device_run import DeviceRun, Tally
from reconciler.apply.health import (
    Observation,
    Track,
    assess,
    budget_crossed,
    needs_device_status,
    probe_failure,
)
from reconciler.apply.ledger import AWAITING_PROMOTION, WAITING_FOR_WINDOW, LedgerEntry, LedgerState
from reconciler.apply.progress import Reporter
from reconciler.apply.turns import Box, each, paced
from reconciler.apply.undo import STAGE_ONLY
from reconciler.errors import PlatformError, ReconcileError
from reconciler.model.enums import ActivityStatus, DeviceOutcome, RolloutState, Verdict
from reconciler.model.live import LiveDeployment
from reconciler.model.marker import Marker
from reconciler.model.marker import parse as parse_marker
from reconciler.model.plan import DeviceChange
from reconciler.model.rollout import Progress, RolloutPlan, RolloutSpec, StepKind
from reconciler.model.windows import MaintenanceWindow, allowed, next_allowed, utc_words
from reconciler.platform import probe, writes
from reconciler.platform.client import Platform

MAX_POLL_FAILURES = 20
FAILED_STATES = ("failed", "rolled_back", "rollback_issued")  # counted in failed_nodes
STEP = 250  # devices handled between two turns of the event loop in the longest loops


def _never() -> bool:
    return False


@dataclass
class SetRollout:
    """One DeploymentSet's rollout."""

    name: str
    changes: list[DeviceChange]
    plan: RolloutPlan  # the waves as planned and reviewed; executed as they are
    record: rec.RolloutRecord
    resumed: bool
    platform: Platform
    clock: Clock
    root: Path
    reporter: Reporter
    promote: bool
    commit: str | None
    instance_ids: dict[str, str] = field(default_factory=dict)
    devs: dict[str, DeviceRun] = field(default_factory=dict)
    _started_wave: int = 0
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))  # this process's writes
    _contest_checked: bool = False
    control_read_at: float | None = None  # when a pause or abort was last looked for (apply.control)
    before: frozenset[str] = frozenset()  # the set's live deployments before this run wrote
    in_flight: dict[str, DeviceRun] = field(default_factory=dict)
    # When each device was started, oldest first (max_per_minute): this run's starts, after those
    # its earlier runs made in the last minute (counted from the platform by `guard.one_writer`).
    starts: list[float] = field(default_factory=list)
    # Asked to stop (`reconcile watch` on SIGTERM): start no device more. A device started
    # gets all its writes (stage and deploy), so none is left half-applied; a rerun continues.
    stop: Callable[[], bool] = _never
    tally: Tally = field(init=False, repr=False)
    order: tuple[str, ...] = field(init=False, repr=False)  # the plan's devices, in plan order

    @property
    def spec(self) -> RolloutSpec:
        return self.plan.spec

    @property
    def desc(self) -> str:
        return self.marker().text()

    def marker(self, wave: int | None = None) -> Marker:
        run = self.run_id if wave is not None else None
        return Marker(
            deployment_set=self.name, rollout=self.record.id, commit=self.commit, wave=wave, run=run
        )

    def will_write(self) -> bool:
        st = self.record.status
        if st.rolling_back:
            return True
        if st.state in rec.FINAL_STATES:
            return False
        return not (st.state == "paused" and not self.promote)

    def held(self) -> list[Box]:
        """What this rollout keeps per device, for `release` once it is over."""
        t: Tally | None = self.__dict__.get("tally")
        tallied: list[Box] = [] if t is None else [t.changed, t.order, t.pending, t.succeeded, t.failed]
        return [self.devs, self.in_flight, *tallied]

    # --- record --------------------------------------------------------------------------

    def _save(self, **status: Any) -> None:
        # Only the devices whose entry changed since the last save (the tally knows them) are
        # written, appended to the record's journal: a save costs what changed, however many
        # devices the rollout has.
        t = self.tally
        changed = [d.entry(self.name) for d in t.changed.values()]
        t.changed.clear()
        counted = {
            "updated_nodes": t.counts["succeeded"],
            "failed_nodes": sum(t.counts[s] for s in FAILED_STATES),
            "total_nodes": len(self.devs),
        }
        self.record = rec.append(
            self.root, self.record.with_status(**counted, **status), changed, self.devs, entries=False
        )

    async def _save_in_steps(self, **status: Any) -> None:
        """A save of many devices (the first of a rollout writes every device's entry) as one
        line per `STEP` devices, letting the event loop run between them (a single line of
        100,000 entries held it for a second). Each line is a revision of its own."""
        waiting = list(self.tally.changed.values())
        self.tally.changed.clear()
        for i in range(0, max(1, len(waiting)), STEP):
            self.tally.changed.update((d.name, d) for d in waiting[i : i + STEP])
            self._save(**status)
            gc.freeze()  # the entries just saved are kept (the journal's copy) until the end
            await asyncio.sleep(0)

    def _set(self, d: DeviceRun, state: LedgerState, reason: str = "") -> None:
        d.state, d.reason, d.reason_code = state, reason, None
        self.reporter.device(self.name, d.name, state, reason)

    # --- the rollout ---------------------------------------------------------------------

    async def run(self) -> rec.RolloutRecord:
        record = await self._run()
        # Saves mid-run leave the record's device entries to the journal; the run's answer
        # carries them all (once, at the end).
        self.record = rec.with_entries(self.root, record)
        return self.record

    async def _run(self) -> rec.RolloutRecord:
        await self._devices()
        st = self.record.status
        if not self.will_write():
            if st.state == "paused":
                self.reporter.note(self.name, f"{self.record.id} is paused: {st.message}")
            return self.record
        if self.resumed:
            await self._find_own_writes()
        else:
            await self._adopt_own_staged()
        if st.rolling_back:
            await undo.roll_back_rollout(self, st.message.removeprefix("rolling back: "))
            return self.record
        await self._save_in_steps(
            state=RolloutState.IN_PROGRESS,
            total_waves=len(self.plan.waves),
            canary_nodes=self.plan.canaries,
            message="",
        )
        reason = await self._waves()
        if reason in ("paused", "waiting"):
            return self.record
        if reason == "yielded":
            await self._drain()  # what this run already started is the same rollout: see it through
            self._save(
                state=RolloutState.CANCELED, message=self.record.status.message, completed_at=rec.utc_now()
            )
            return self.record
        if reason is not None:
            if self.spec.no_auto_rollback:
                self._not_attempted_reason("stopped: " + reason)
                await self._drain()
                self._save(
                    state=RolloutState.FAILED,
                    message=f"stopped: {reason} (no_auto_rollback)",
                    completed_at=rec.utc_now(),
                )
                self.reporter.note(self.name, f"stopped: {reason}; no_auto_rollback is set")
            else:
                await undo.roll_back_rollout(self, reason)
            return self.record
        await undo.revert_late(self)
        await self._archive_replaced()
        self._save(state=RolloutState.COMPLETED, message="all devices done", completed_at=rec.utc_now())
        self.reporter.note(self.name, f"{self.record.id} completed")
        return self.record

    async def _devices(self) -> None:
        """Each device's run, resumed from what an earlier run recorded, and the tally; in
        slices, letting the event loop run between them (100,000 devices take a second)."""
        order: list[str] = []
        waves: dict[str, int] = {}
        places: dict[str, int] = {}
        for i, w in enumerate(self.plan.waves, start=1):
            for k in range(0, len(w.devices), 4 * STEP):
                part = w.devices[k : k + 4 * STEP]
                places.update(zip(part, range(len(order), len(order) + len(part)), strict=True))
                order += part
                waves.update(dict.fromkeys(part, i))
                await asyncio.sleep(0)
        self.order = tuple(order)
        saved: dict[str, LedgerEntry] = {}
        for k in range(0, len(self.record.devices), 4 * STEP):
            saved.update((e.device, e) for e in self.record.devices[k : k + 4 * STEP])
            await asyncio.sleep(0)
        self.tally = Tally(places)
        for i, c in enumerate(self.changes, start=1):
            d = self.devs[c.device] = DeviceRun(change=c, wave=waves[c.device])
            e = saved.get(c.device)
            if e is not None:
                d.state, d.deployment_id, d.rollback_id, d.reason, d.reason_code = (
                    e.state,
                    e.deployment_id,
                    e.rollback_deployment_id,
                    e.reason,
                    e.reason_code,
                )
            if e is None or e.wave != d.wave:  # not saved yet (a fresh record), or its wave moved
                self.tally.changed[d.name] = d
            if i % (4 * STEP) == 0:
                gc.freeze()  # the devices live as long as the rollout (see `executor.execute`)
                await asyncio.sleep(0)
        for i, n in enumerate(self.order, start=1):
            self.tally.add(self.devs[n])
            if i % (4 * STEP) == 0:
                await asyncio.sleep(0)
        gc.freeze()

    async def _find_own_writes(self) -> None:
        """After a crash the record may lag the platform: ask which devices already carry a
        deployment of this rollout (by description) and continue from there."""
        todo = [d async for d in paced(self.devs.values()) if d.state in ("not_attempted", "in_flight")]
        if not todo:
            return
        found = await writes.device_deployments(self.platform, [d.device_id async for d in paced(todo)])
        mine = self.marker()
        async for d in paced(todo):
            own = next(
                (x for x in found.get(d.device_id, []) if mine.same_rollout(parse_marker(x.description))),
                None,
            )
            if own is not None:
                d.deployment_id = own.id
                d.own_target_status = own.target_status
                d.state = DeviceOutcome.IN_FLIGHT
            elif d.state == "in_flight":
                # Recorded as written, but nothing of ours is there: start it again.
                d.state, d.deployment_id = DeviceOutcome.NOT_ATTEMPTED, None

    async def _adopt_own_staged(self) -> None:
        """A fresh plan made after a crashed upgrade lists the crashed run's staged deployment
        among those to archive. When it is exactly what this plan would stage (same set and
        commit, release and config instances, still `staged`), deploy it instead of staging
        a duplicate."""
        todo = [
            d
            async for d in paced(self.devs.values())
            if d.change.action == "upgrade" and d.change.archive_ids and d.state == "not_attempted"
        ]
        if not todo:
            return
        ours = self.marker()
        found = await writes.deployments_by_id(
            self.platform, [a for d in todo for a in d.change.archive_ids], expand=["config_instances"]
        )
        for d in todo:
            want = sorted(self.instance_ids.get(k, "") for k in d.change.instance_keys)
            for a in d.change.archive_ids:
                dep = found.get(a)
                if (
                    dep is not None
                    and _same_set_and_commit(ours, parse_marker(dep.description))
                    and dep.activity_status == "staged"
                    and dep.target_status == "staged"
                    and dep.error_status == "none"
                    and dep.release_id == d.change.release_to_id
                    and sorted(dep.instance_ids) == want
                ):
                    d.deployment_id, d.own_target_status = dep.id, "staged"
                    break

    def _not_attempted_reason(self, reason: str, code: str | None = None) -> None:
        for d in self.devs.values():
            if d.state == "not_attempted":
                d.reason, d.reason_code = reason, code

    def _open(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """Those of `names` whose maintenance windows let them start now (all, without windows)."""
        if not self.spec.windows:
            return names
        at = self.clock.utc()
        verdicts: dict[tuple[MaintenanceWindow, ...], bool] = {}  # devices share a few window sets
        out = []
        for n in names:
            windows = self.plan.windows_for(n)
            if windows not in verdicts:
                verdicts[windows] = allowed(windows, at)
            if verdicts[windows]:
                out.append(n)
        return tuple(out)

    def _progress(self) -> Progress:
        pending = self.tally.pending_names()
        if self.spec.windows:
            opened = set(self._open(pending))
            # Devices inside their window first, so a closed one never holds an open one back.
            pending = tuple(n for n in pending if n in opened) + tuple(n for n in pending if n not in opened)
        return Progress(
            pending=pending,
            in_flight=frozenset(self.in_flight),
            succeeded=frozenset(self.tally.succeeded),
            failed=frozenset(self.tally.failed),
            promoted=self.record.status.canary_promoted,
            promote_requested=self.promote,
        )

    async def _waves(self) -> str | None:
        """Runs the plan's waves, asking the strategy at each step what to do; returns None
        when done, "paused", or why the rollout stopped."""
        strategy = strategies.get(self.spec.strategy)
        # Resumed devices whose write landed: finish them first (deploy step, health).
        resumed = []
        for i, n in enumerate(self.order, start=1):
            if i % (4 * STEP) == 0:
                await asyncio.sleep(0)
            if self.devs[n].state == "in_flight":
                resumed.append(self.devs[n])
        await self._start_all(resumed, self.in_flight)
        self._started_wave = max((d.wave for d in resumed), default=0)
        poll_failures = 0
        while True:
            # The budget is checked before any new device starts, so failures that free
            # slots never let the next wave begin.
            stop = self._check_budget()
            if stop:
                return stop
            step = strategy.next_step(self.plan, self._progress())
            if step.kind is StepKind.START:
                if self.stop():
                    self._not_attempted_reason("not started: reconcile was asked to stop; a rerun continues")
                    return "paused"
                halted = await control.check(self)
                if halted is not None:
                    await control.halt(self, halted)
                    return "paused"
                opened = self._open(step.devices)
                if not opened and not self.in_flight:
                    self._wait_for_window(step.devices)
                    return "waiting"
                paced = self._paced(opened)
                if paced:
                    await self._start_batch(paced)
                    if not self._contest_checked and await self._yields():
                        return "yielded"
                    continue
                if opened and not self.in_flight:  # nothing to watch: wait for the minute to free a start
                    await self.clock.sleep(
                        max(self.clock.poll_interval, self.starts[0] + pace.MINUTE - self.clock.now())
                    )
                    continue
            if step.kind is StepKind.PROMOTE:
                self.reporter.note(self.name, "canaries healthy: promoted")
                self._save(canary_promoted=True, message=step.reason)
                continue
            if step.kind is StepKind.PAUSE:
                self._pause(step.reason)
                return "paused"
            if step.kind is StepKind.STOP:
                return step.reason
            if step.kind is StepKind.DONE:
                return None
            await self.clock.sleep(self.clock.poll_interval)
            try:
                changed = await self._poll(self.in_flight)
                poll_failures = 0
            except PlatformError as e:
                # A failed poll is not a failed device: try again on the next tick.
                poll_failures += 1
                if poll_failures >= MAX_POLL_FAILURES:
                    raise ReconcileError(f"cannot read deployment status: {e.message}") from None
                continue
            if changed:
                self._save(last_progress_time=rec.utc_now())

    def _paced(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The devices `max_per_minute` lets start now: it counts starts in the last minute on
        the executor's clock, whatever wave or run they were in."""
        limit = self.spec.max_per_minute
        if not limit:
            return names
        now = self.clock.now()
        self.starts = [t for t in self.starts if t > now - pace.MINUTE]
        return names[: max(0, limit - len(self.starts))]

    async def _start_batch(self, names: tuple[str, ...]) -> None:
        self.starts += [self.clock.now()] * len(names)
        for w in sorted({self.devs[n].wave for n in names}):
            if w > self._started_wave:
                self._started_wave = w
                self.reporter.wave(self.name, w, len(self.plan.waves), len(self.plan.waves[w - 1].devices))
                self._save(current_wave=w)
        await self._start_all([self.devs[n] for n in names], self.in_flight)
        self._save(last_progress_time=rec.utc_now())

    def _wait_for_window(self, names: tuple[str, ...]) -> None:
        """No device the strategy would start is inside its maintenance window: end this run
        (the platform keeps what it did; the next apply continues) and say when one opens."""
        at = self.clock.utc()
        times = [t for t in (next_allowed(self.plan.windows_for(n), at) for n in names) if t is not None]
        when = f"the next opens {utc_words(min(times))}" if times else "none opens within two weeks"
        why = f"waiting for a maintenance window: {when}"
        self._not_attempted_reason(why, WAITING_FOR_WINDOW)
        self._save(state=RolloutState.WAITING_FOR_WINDOW, message=f"{why}; apply again then to continue")
        self.reporter.note(self.name, f"{why}; apply again then to continue")

    async def _yields(self) -> bool:
        """Two applies started at once on one set: neither saw the other before writing, so after
        its first writes each looks again, and a run that sees another stops (its devices in
        flight are watched to the end: the same rollout). At most one carries on."""
        self._contest_checked = True
        other = await guard.other_run(self)
        if other is None:
            return False
        why = f"another apply (run {other}) started this rollout at the same time; it carries on"
        self._not_attempted_reason(f"not started: {why}", guard.YIELDED)
        self._save(message=f"stopped: {why}")
        self.reporter.note(self.name, f"stopping: {why}")
        return True

    def _pause(self, why: str) -> None:
        self._not_attempted_reason("waiting for promotion (reconcile apply --promote)", AWAITING_PROMOTION)
        self._save(state=RolloutState.PAUSED, message=f"{why}; run `reconcile apply --promote` to continue")
        self.reporter.note(self.name, f"{why}; paused until `reconcile apply --promote`")

    async def _drain(self) -> None:
        """Stopped without rollback: start nothing more, but see the devices already
        updating through their health check (the deadline bounds the wait)."""
        failures = 0
        while self.in_flight:
            await self.clock.sleep(self.clock.poll_interval)
            try:
                if await self._poll(self.in_flight):
                    self._save(last_progress_time=rec.utc_now())
            except PlatformError as e:
                failures += 1
                if failures >= MAX_POLL_FAILURES:
                    raise ReconcileError(f"cannot read deployment status: {e.message}") from None

    def _check_budget(self) -> str | None:
        failed = self.tally.counts["failed"]
        finished = self.tally.counts["succeeded"] + failed
        return budget_crossed(self.spec, failed=failed, finished=finished, total=len(self.devs))

    async def _start_all(self, batch: list[DeviceRun], in_flight: dict[str, DeviceRun]) -> None:
        await each(batch, self._start)
        for d in batch:
            if d.state == "in_flight":
                in_flight[d.name] = d

    async def _start(self, d: DeviceRun) -> None:
        try:
            await self._start_one(d)
        except PlatformError as e:
            # Reads kept failing, so whether the write landed is unknown: leave the device
            # for a rerun (which finds our deployment by its description) instead of guessing.
            self._set(d, DeviceOutcome.NOT_ATTEMPTED, f"platform error, rerun apply: {e.message}")

    async def _start_one(self, d: DeviceRun) -> None:
        c = d.change
        try:
            instance_ids = [self.instance_ids[k] for k in c.instance_keys]
        except KeyError as e:
            self._set(d, DeviceOutcome.FAILED, f"the plan has no config instance {e.args[0][:12]}")
            return
        if c.release_to_id is None:
            self._set(d, DeviceOutcome.FAILED, "the plan has no release id for this device")
            return
        two_step = c.action == "upgrade" or first_deployment(c)
        staged = two_step or c.action in STAGE_ONLY
        if d.deployment_id is None:
            res = await writes.create_deployment(
                self.platform,
                device=d.name,
                device_id=d.device_id,
                release_id=c.release_to_id,
                instance_ids=instance_ids,
                desc=self.marker(d.wave).text(),
                target_status="staged" if staged else "deployed",
                parent_id=c.parent_token,
            )
            if res.outcome != "done":
                self._set(d, DeviceOutcome(res.outcome), res.reason)
                return
            d.deployment_id = res.deployment_id
            d.own_target_status = None if res.already else ("staged" if staged else "deployed")
        if c.action in STAGE_ONLY:
            self._set(d, DeviceOutcome.SUCCEEDED, "staged")
            return
        if two_step and d.own_target_status != "deployed":
            assert d.deployment_id is not None
            res = await writes.deploy(self.platform, d.deployment_id, device=d.name)
            if res.outcome != "done":
                self._set(d, DeviceOutcome(res.outcome), res.reason)
                return
            d.own_target_status = "deployed"
        d.track = Track(started_at=self.clock.now())
        self._set(d, DeviceOutcome.IN_FLIGHT)

    async def _poll(self, in_flight: dict[str, DeviceRun]) -> bool:
        ids = [d.deployment_id for d in in_flight.values() if d.deployment_id]
        deps = await writes.deployments_by_id(self.platform, ids)
        waiting = [
            d
            for d in in_flight.values()
            if d.deployment_id in deps and needs_device_status(_observe(deps[d.deployment_id]))
        ]
        devices = await writes.devices_by_id(self.platform, [d.device_id for d in waiting]) if waiting else {}
        now = self.clock.now()
        changed = False
        for i, d in enumerate(list(in_flight.values()), start=1):
            if i % STEP == 0:
                await asyncio.sleep(0)  # a thousand devices in flight: let the loop run between slices
            dep = deps.get(d.deployment_id or "")
            if dep is None:
                self._set(d, DeviceOutcome.FAILED, "the deployment disappeared")
                in_flight.pop(d.name)
                changed = True
                continue
            dev = devices.get(d.device_id)
            obs = _observe(dep, None if dev is None else dev.status == "online")
            a = assess(d.track or Track(started_at=now), obs, now, self.spec)
            d.track = a.track
            reason = a.reason
            deployed = a.verdict in (Verdict.HEALTHY, Verdict.PENDING) and a.track.deployed_since is not None
            failed = await self._probe(d) if deployed else None
            if failed is not None:
                a, reason = replace(a, verdict=Verdict.FAILED), failed
            if a.verdict is Verdict.PENDING:
                continue
            state = DeviceOutcome.SUCCEEDED if a.verdict is Verdict.HEALTHY else DeviceOutcome(a.verdict)
            self._set(d, state, reason)
            d.may_land = state is DeviceOutcome.FAILED and dep.activity_status in (
                ActivityStatus.QUEUED,
                ActivityStatus.STAGED,
            )
            in_flight.pop(d.name)
            changed = True
        # What this round kept (tracks, entries, the devices read) lives on: out of the garbage
        # collector's full passes too, which would otherwise walk a growing heap mid-rollout.
        gc.freeze()
        return changed

    async def _probe(self, d: DeviceRun) -> str | None:
        """Asked while the device is deployed, through min_healthy_time: why it fails, or None."""
        check = self.spec.health_check.probe
        if check is None:
            return None
        answer = await probe.ask(self.platform, check, device_name=d.name, device_id=d.device_id)
        return probe_failure(check, answer.status, answer.body, answer.error)

    async def _archive_replaced(self) -> None:
        """Staged/drifted deployments the plan said this write replaces (best effort: a
        failure here leaves an inert staged deployment, never a wrong device)."""
        todo = [
            (d, a)
            async for d in paced(self.devs.values())
            if d.state in ("succeeded", "deferred")
            for a in d.change.archive_ids
            if a != d.deployment_id
        ]

        async def archive(job: tuple[DeviceRun, str]) -> None:
            d, a = job
            res = await writes.archive(self.platform, a, device=d.name)
            if res.outcome != "done":
                self.reporter.note(self.name, f"{d.name}: could not archive {a}: {res.reason}")

        await each(todo, archive)


def first_deployment(c: DeviceChange) -> bool:
    """A device with no release and no deployment yet. Whether the platform takes its first
    deployment created `deployed` is open in the docs, so it is always staged, then deployed,
    which every reading accepts."""
    return c.action == "deploy" and c.parent_token is None and c.release_from is None


def _same_set_and_commit(ours: Marker, theirs: Marker | None) -> bool:
    if theirs is None or theirs.is_rollback:
        return False
    return (theirs.deployment_set, theirs.commit) == (ours.deployment_set, ours.commit)


def _observe(dep: LiveDeployment, online: bool | None = None) -> Observation:
    return Observation(
        activity_status=dep.activity_status,
        error_status=dep.error_status,
        target_status=dep.target_status,
        device_online=online,
    )
