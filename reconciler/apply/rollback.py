"""Rollback after the failure budget is crossed: every device that took this rollout's
deployment (it is still the device's target) gets a new deployment with its previous
release and config instances, all at once, no canary phase, no health gate.

The previous deployment is the plan's parent token for the device; it is read with
`expand=config_instances`, 100 per request. Rollback writes carry their own description
(`rollout=<id>-rollback`), so a rerun after a crash mid-rollback finds them and does not
roll back twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.apply.ledger import LedgerState
from reconciler.apply.turns import each
from reconciler.model.enums import DeviceOutcome
from reconciler.platform import writes
from reconciler.platform.client import Platform


@dataclass(frozen=True)
class Candidate:
    name: str
    device_id: str
    deployment_id: str | None  # what this rollout wrote
    parent_token: str | None  # the device's target before this rollout
    rollback_id: str | None = None  # set when an earlier run already rolled it back


@dataclass(frozen=True)
class Outcome:
    state: LedgerState
    rollback_id: str | None = None
    reason: str = ""


async def roll_back(platform: Platform, candidates: list[Candidate], desc: str) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    todo = [c for c in candidates if c.deployment_id]
    if not todo:
        return out
    ours = await writes.deployments_by_id(platform, [c.deployment_id for c in todo if c.deployment_id])
    parents = await writes.deployments_by_id(
        platform, [c.parent_token for c in todo if c.parent_token], expand=["config_instances"]
    )
    # An earlier (crashed) run may have written some rollbacks already.
    existing = await writes.device_deployments(platform, [c.device_id for c in todo])
    # The release the platform calls current decides staged or deployed; it may still be the
    # previous one while ours is queued (a platform that switches when the agent confirms).
    devices = await writes.devices_by_id(platform, [c.device_id for c in todo], expand=["current_release"])

    async def one(c: Candidate) -> None:
        mine = ours.get(c.deployment_id or "")
        done = next(
            (d for d in existing.get(c.device_id, []) if writes.same_write(d.description, desc)), None
        )
        if done is not None and done.target_status != "staged":
            out[c.name] = Outcome(
                DeviceOutcome.ROLLED_BACK, done.id, "rolled back to its previous deployment"
            )
            return
        if done is not None:  # a crash came between staging the rollback and deploying it
            res = await writes.deploy(platform, done.id, device=c.name)
            state = DeviceOutcome.ROLLED_BACK if res.outcome == "done" else DeviceOutcome.FAILED
            out[c.name] = Outcome(
                state,
                done.id,
                "rolled back to its previous deployment"
                if state == "rolled_back"
                else f"rollback {res.outcome}: {res.reason}",
            )
            return
        if mine is None or mine.target_status != "deployed":
            # The agent refused it (the device kept its previous deployment) or someone
            # replaced it: nothing of this rollout is on the device.
            return
        parent = parents.get(c.parent_token or "")
        if parent is None:
            out[c.name] = Outcome(DeviceOutcome.FAILED, None, "no previous deployment to roll back to")
            return
        dev = devices.get(c.device_id)
        same_release = parent.release_id == (dev.current_release_id if dev else mine.release_id)
        res = await writes.create_deployment(
            platform,
            device=c.name,
            device_id=c.device_id,
            release_id=parent.release_id,
            instance_ids=parent.instance_ids,
            desc=desc,
            target_status="deployed" if same_release else "staged",
            parent_id=mine.id,
        )
        if res.outcome == "done" and not same_release and res.deployment_id:
            res = await writes.deploy(platform, res.deployment_id, device=c.name)
        if res.outcome == "done":
            out[c.name] = Outcome(
                DeviceOutcome.ROLLED_BACK, res.deployment_id, "rolled back to its previous deployment"
            )
        else:
            out[c.name] = Outcome(
                DeviceOutcome.FAILED, res.deployment_id, f"rollback {res.outcome}: {res.reason}"
            )

    await each(todo, one)
    return out
