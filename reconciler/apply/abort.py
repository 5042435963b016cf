"""`reconcile apply --abort SET --revert`: a person stops a DeploymentSet's rollout and takes it
back. Every device that runs the rollout (its target deployment carries the rollout's marker)
goes back to the deployment it had before, through the same rollback path as a crossed failure
budget. The rollback deployments carry `undo=<rollout> why=aborted`, so the platform is the
state: every later plan, from any clone, holds that content back until it changes (or
`--retry-failed`)."""

from __future__ import annotations

from reconciler.apply.ledger import LedgerEntry
from reconciler.apply.rollback import Candidate, roll_back
from reconciler.errors import ReconcileError
from reconciler.model.enums import Action, DeviceOutcome
from reconciler.model.marker import Marker
from reconciler.model.plan import Plan
from reconciler.platform import writes
from reconciler.platform.client import Platform


def aborted_set(plan: Plan, name: str) -> str:
    """The set to abort, refused when the plan has no rollout of it to take back."""
    rollout = plan.rollouts.get(name)
    if rollout is None:
        known = ", ".join(sorted(plan.rollouts)) or "none"
        raise ReconcileError(f"no DeploymentSet {name!r} in the plan (DeploymentSets: {known})")
    if not rollout.done:
        raise ReconcileError(
            f"DeploymentSet {name!r}: no device runs rollout {rollout.id}; nothing to abort",
            hint="`reconcile status` shows where each set's rollout stands",
        )
    return name


async def abort_revert(plan: Plan, platform: Platform, name: str) -> tuple[LedgerEntry, ...]:
    rollout = plan.rollouts[name]
    changes = {c.device: c for c in plan.changes if c.deployment_set == name and c.action == Action.NOOP}
    mine = [
        changes[d] for d in rollout.done if d in changes and changes[d].device_id and changes[d].parent_token
    ]
    # The rollout's deployment is each device's target; the one before it is its parent.
    ours = await writes.deployments_by_id(platform, [c.parent_token for c in mine if c.parent_token])
    candidates = [
        Candidate(
            name=c.device,
            device_id=str(c.device_id),
            deployment_id=c.parent_token,
            parent_token=ours[c.parent_token].parent_id if c.parent_token in ours else None,
        )
        for c in mine
    ]
    desc = Marker(name, f"{rollout.id}-rollback", plan.commit, undo=rollout.id, why="aborted").text()
    outcomes = await roll_back(platform, candidates, desc)
    return tuple(
        LedgerEntry(
            device=c.device,
            deployment_set=name,
            action="abort",
            state=outcomes[c.device].state if c.device in outcomes else DeviceOutcome.NOT_ATTEMPTED,
            deployment_id=c.parent_token,
            rollback_deployment_id=outcomes[c.device].rollback_id if c.device in outcomes else None,
            reason=outcomes[c.device].reason
            if c.device in outcomes
            else "its deployment is no longer deployed",
        )
        for c in mine
    )
