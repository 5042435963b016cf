"""Rolling a rollout's devices back: all of them when the rollout stops (a failed canary, the
failure budget crossed), single devices whose deployment missed its deadline while still
queued, and waiting for each device to confirm it runs its previous deployment again.

Every pass over the rollout's devices is cut in slices (`turns.paced`): a rollback of a
100,000-device rollout would otherwise hold the event loop for each pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.apply import record as rec
from reconciler.apply.device_run import DeviceRun
from reconciler.apply.rollback import Candidate, roll_back
from reconciler.apply.turns import paced
from reconciler.model.enums import ActivityStatus, DeviceOutcome, RolloutState
from reconciler.model.marker import Marker
from reconciler.platform import writes

if TYPE_CHECKING:
    from reconciler.apply.rollout import SetRollout

STAGE_ONLY = ("stage", "restage")
# A device in one of these states may run this rollout's deployment: it is rolled back.
MAY_RUN_IT = ("succeeded", "in_flight", "deferred", "failed", "rolled_back", "rollback_issued")


def _desc(r: SetRollout, why: str) -> str:
    return Marker(r.name, f"{r.record.id}-rollback", r.commit, undo=r.record.id, why=why).text()


def _candidate(d: DeviceRun) -> Candidate:
    return Candidate(
        name=d.name,
        device_id=d.device_id,
        deployment_id=d.deployment_id,
        parent_token=d.change.parent_token,
        rollback_id=d.rollback_id,
    )


async def roll_back_rollout(r: SetRollout, reason: str) -> None:
    """The rollout stopped: every device that may run its deployment goes back to its
    previous one, and the record says how many did."""
    r._save(rolling_back=True, message=f"rolling back: {reason}")
    r.reporter.note(r.name, f"stopping: {reason}; rolling back")
    r._not_attempted_reason(f"not started: the rollout stopped ({reason})")
    why = "canary-failed" if reason.startswith("a canary") else "budget-crossed"
    candidates = [
        _candidate(d)
        async for d in paced(r.devs.values())
        if d.deployment_id and d.change.action not in STAGE_ONLY and d.state in MAY_RUN_IT
    ]
    for name, out in (await roll_back(r.platform, candidates, _desc(r, why))).items():
        d = r.devs[name]
        d.rollback_id = out.rollback_id or d.rollback_id
        if out.state is DeviceOutcome.ROLLED_BACK:  # written: rolled back once the device says so
            r._set(d, DeviceOutcome.ROLLBACK_ISSUED, f"rollback {d.rollback_id} issued; not confirmed yet")
        else:
            r._set(d, out.state, out.reason)
    await confirm_rollbacks(r)
    rolled = issued = 0
    async for d in paced(r.devs.values()):
        if d.state == "in_flight":  # took the update, was not rolled back: unverified
            r._set(d, DeviceOutcome.FAILED, "the rollout stopped before its health check finished")
        rolled += d.state == DeviceOutcome.ROLLED_BACK
        issued += d.state == DeviceOutcome.ROLLBACK_ISSUED
    r._save(
        state=RolloutState.FAILED,
        rolling_back=False,
        completed_at=rec.utc_now(),
        message=f"stopped: {reason}; rolled back {rolled} device(s)"
        + (f", rollback issued and not yet confirmed on {issued}" if issued else ""),
    )


async def revert_late(r: SetRollout) -> None:
    """A deployment that missed its deadline but is still queued would land later, unwatched,
    when the failure budget was not crossed. Each is rolled back on its own (unless
    no_auto_rollback), so what the ledger calls failed never goes live behind it."""
    late = [d async for d in paced(r.devs.values()) if d.may_land and d.deployment_id]
    if not late or r.spec.no_auto_rollback:
        for d in late:
            d.reason += "; still queued: it may go live later (no_auto_rollback)"
        return
    candidates = [_candidate(d) for d in late]
    for name, out in (await roll_back(r.platform, candidates, _desc(r, "deadline"))).items():
        d = r.devs[name]
        d.rollback_id = out.rollback_id or d.rollback_id
        if out.state is DeviceOutcome.ROLLED_BACK:
            r._set(
                d,
                DeviceOutcome.ROLLBACK_ISSUED,
                f"missed its deadline while queued; rollback {d.rollback_id} issued",
            )
    await confirm_rollbacks(r)


async def confirm_rollbacks(r: SetRollout) -> None:
    """A rollback is `rolled_back` only once the device runs its previous deployment again;
    until then (an offline device, an agent still retrying) it is `rollback_issued`. Online
    devices are waited for up to the health deadline."""
    waiting = {
        d.rollback_id: d
        async for d in paced(r.devs.values())
        if d.state == DeviceOutcome.ROLLBACK_ISSUED and d.rollback_id
    }
    started = r.clock.now()
    while waiting:
        found = await writes.deployments_by_id(r.platform, list(waiting))
        for rid, dep in found.items():
            d = waiting[rid]
            if dep.activity_status == ActivityStatus.DEPLOYED:
                r._set(d, DeviceOutcome.ROLLED_BACK, "rolled back to its previous deployment")
                waiting.pop(rid)
            else:
                why = "missed its deadline while queued; " if d.may_land else ""
                d.reason = f"{why}rollback {rid} issued; the device has not confirmed it ({dep.status})"
        if not waiting or r.clock.now() - started >= r.spec.health_check.deadline:
            return
        await r.clock.sleep(r.clock.poll_interval)
