"""One writer per DeploymentSet: an apply that finds another rollout of the same set in flight on
the platform refuses (unless `--force`) instead of racing it.

In flight means: a deployment that reconcile wrote for the set (its marker says so) is still on
its way to a device that is online (deployed but not yet live, or retrying), and it was written
less than the rollout's health deadline ago. A rollout abandoned by a crash stops counting once
its deadline has passed, and the next apply resumes it (the same content names the same rollout,
so its earlier writes are recognised, not duplicated). The checkout's own record of an unfinished
rollout with the same id marks it as this checkout's crashed run, resumed at once.

This complements the workflow's concurrency group (docs/ci.md): that one queues applies of one
repository; this one also keeps apart runs that no group covers (two repositories, a laptop).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.apply import pace
from reconciler.apply.clock import Clock
from reconciler.apply.turns import paced, release
from reconciler.errors import ReconcileError
from reconciler.model import marker
from reconciler.model.enums import ActivityStatus, ErrorStatus, TargetStatus
from reconciler.model.live import parse_time
from reconciler.model.rollout import format_duration
from reconciler.platform import writes
from reconciler.platform.client import Platform
from reconciler.platform.writes import PART, SLICE

if TYPE_CHECKING:  # the rollout engine asks this module, and this module reads its state
    from reconciler.apply.rollout import SetRollout

YIELDED = "yielded"  # reason code: stopped for another apply of the same rollout
SETTLED = (ActivityStatus.DEPLOYED, ActivityStatus.ARCHIVED, ActivityStatus.REMOVING)


def _seconds(stamp: str) -> float:
    """An unreadable timestamp (hostile or malformed) counts as long ago: never a traceback."""
    return parse_time(stamp).timestamp()


def _unsettled(d: Any) -> bool:
    if d.error_status == ErrorStatus.RETRYING:
        return True
    if d.error_status == ErrorStatus.FAILED:
        return False
    # A staged deployment is where a stage-only rollout ends (and an upgrade's stage step lasts
    # one request): only a deployment on its way to a device counts.
    return d.target_status == TargetStatus.DEPLOYED and d.activity_status not in SETTLED


async def in_flight(
    rollout: SetRollout, deployments: dict[str, list[Any]], online: set[str], now: float
) -> tuple[marker.Marker, float] | None:
    """The newest unsettled deployment another run wrote for this set: (its marker, its age)."""
    deadline = rollout.spec.health_check.deadline
    found: list[tuple[float, marker.Marker]] = []
    for n, (device_id, rows) in enumerate(deployments.items(), start=1):
        if n % SLICE == 0:
            await asyncio.sleep(0)  # every device of a large set: let the event loop run
        for d in rows:
            m = marker.parse(d.description)
            if m is None or m.deployment_set != rollout.name or device_id not in online or not _unsettled(d):
                continue
            age = now - _seconds(str(d.created_at))
            if age < deadline and not (rollout.resumed and m.rollout.startswith(rollout.record.id)):
                found.append((age, m))
    if not found:
        return None
    age, m = min(found, key=lambda x: x[0])
    return m, age


async def _sorted(values: set[str]) -> list[str]:
    """`sorted(values)` in slices: sorted runs merged, the event loop running between slices
    (one sort of 100,000 ids held it for 40 ms)."""
    items, runs = list(values), []
    for i in range(0, len(items), SLICE):
        runs.append(sorted(items[i : i + SLICE]))
        await asyncio.sleep(0)
    out: list[str] = []
    for n, v in enumerate(heapq.merge(*runs), start=1):
        out.append(v)
        if n % SLICE == 0:
            await asyncio.sleep(0)
    return out


async def one_writer(
    platform: Platform,
    clock: Clock,
    rollouts: Sequence[SetRollout],
    devices: Mapping[str, Sequence[str]],
    *,
    force: bool = False,
) -> None:
    """`devices`: DeploymentSet -> the ids of all its devices (the unchanged ones too: a run in
    flight may have just updated them). Each rollout also keeps what was there before it wrote
    anything, so a competitor is told apart from history (`other_run`), and a paced rollout
    counts the starts its earlier runs made in the last minute (`pace`)."""
    # Each pass over every device is cut in slices (the event loop runs between them): at
    # 100,000 devices one pass held it for tens of ms.
    wanted: set[str] = set()
    for r in rollouts:
        members = devices.get(r.name, ())
        for n in range(0, len(members), SLICE):
            wanted.update(members[n : n + SLICE])
            await asyncio.sleep(0)
    ids = await _sorted(wanted)
    if not ids:
        return
    deployments = await writes.device_deployments(platform, ids, live_only=True)
    for r in rollouts:
        before: set[str] = set()
        for n, i in enumerate(devices.get(r.name, ()), start=1):
            if n % SLICE == 0:
                await asyncio.sleep(0)
            before.update(d.id for d in deployments.get(i, []))
        r.before = frozenset(before)
        if r.spec.max_per_minute:
            r.starts = await pace.recent_starts(r.record.id, deployments, devices.get(r.name, ()), r.clock)
    if not force:
        await _none_busy(platform, clock, rollouts, ids, deployments)
    # Freed a slice at a time: the whole fleet's deployments at once held the loop (turns).
    await release(deployments)


async def _none_busy(
    platform: Platform,
    clock: Clock,
    rollouts: Sequence[SetRollout],
    ids: list[str],
    deployments: dict[str, list[Any]],
) -> None:
    """No other apply is rolling out to these sets now (a write of theirs to an online
    device, younger than the health deadline and not settled)."""
    found: dict[str, Any] = {}
    for k in range(0, len(ids), PART):
        found.update(await writes.devices_by_id(platform, ids[k : k + PART]))
    online: set[str] = set()
    for n, (i, d) in enumerate(found.items(), start=1):
        if n % SLICE == 0:
            await asyncio.sleep(0)
        if d.status == "online":
            online.add(i)
    now = clock.utc()
    busy = [(r, hit) for r in rollouts if (hit := await in_flight(r, deployments, online, now)) is not None]
    await release(found, online)
    if busy:
        lines = [
            f"{r.name}: rollout {m.rollout} (commit {m.commit or 'none'}) wrote {format_duration(round(age))} ago"
            for r, (m, age) in busy
        ]
        raise ReconcileError(
            "another apply is rolling out to these DeploymentSets now: " + "; ".join(lines),
            hint="wait for it (`reconcile status`), or pass --force if that run is gone",
        )


async def other_run(rollout: SetRollout) -> str | None:
    """Another apply process writing this rollout right now: a run that wrote to the set's devices
    since this one started (what was there before, a paused or finished run, is history)."""
    ids = [d.device_id async for d in paced(rollout.devs.values())]
    deployments = await writes.device_deployments(rollout.platform, ids, live_only=True)
    now, deadline = rollout.clock.utc(), rollout.spec.health_check.deadline
    runs: set[str] = set()
    for n, rows in enumerate(deployments.values(), start=1):
        if n % SLICE == 0:
            await asyncio.sleep(0)
        for d in rows:
            m = marker.parse(d.description)
            # what was there before this run wrote was the one-writer check's business (or a
            # crashed run this one resumes): only writes since then are a competitor's
            recent = d.id not in rollout.before and now - _seconds(str(d.created_at)) < deadline
            if m is not None and m.rollout == rollout.record.id and m.run and recent:
                runs.add(m.run)
    await release(deployments)
    # Whoever sees another run yields. Each run writes before it looks, so the run that looks
    # last sees the other's writes: at most one carries on (both stop when each saw the other).
    others = sorted(runs - {rollout.run_id})
    return others[0] if others else None
