"""The apply loop: config instances first, then each DeploymentSet's rollout (concurrently,
each with its own waves, health gates and failure budget; `reconciler.apply.rollout`), then
the ledger, with the devices the plan blocked at the end.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from reconciler.apply import record as rec
from reconciler.apply.clock import Clock
from reconciler.apply.ledger import LedgerEntry, exit_code
from reconciler.apply.progress import Reporter, Silent
from reconciler.apply.rollout import SetRollout
from reconciler.errors import ReconcileError
from reconciler.model.enums import DeviceOutcome, RolloutState
from reconciler.model.plan import DeviceChange, Plan
from reconciler.model.rollout import RolloutPlan
from reconciler.platform import writes
from reconciler.platform.client import Platform

ACTIONABLE = ("deploy", "upgrade", "stage", "restage")


@dataclass(frozen=True)
class ApplyResult:
    records: tuple[rec.RolloutRecord, ...]
    ledger: tuple[LedgerEntry, ...]
    blocked: tuple[DeviceChange, ...] = ()
    requests: int = 0

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


def check_waves(name: str, rollout: RolloutPlan, changes: list[DeviceChange]) -> None:
    """Apply runs the waves as planned: each device to write to is in exactly one wave."""
    planned, want = list(rollout.devices), {c.device for c in changes}
    if len(planned) != len(set(planned)) or set(planned) != want:
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
) -> ApplyResult:
    reporter = reporter or Silent()
    digest = rec.plan_digest(plan)
    by_set: dict[str, list[DeviceChange]] = {}
    for c in plan.changes:
        if c.action in ACTIONABLE and c.device_id:
            by_set.setdefault(c.deployment_set or "-", []).append(c)
    blocked = blocked_changes(plan)
    missing = sorted(n for n in by_set if n not in plan.rollouts)
    if missing:  # never guess a strategy: a canary set must not go out all at once
        raise ReconcileError(
            f"the plan has no rollout spec for DeploymentSet {', '.join(missing)}",
            hint="make the plan again with `reconcile plan --out`",
        )
    plan_file = rec.save_plan(root, plan, digest) if by_set else ""
    rollouts: list[SetRollout] = []
    for name, changes in sorted(by_set.items()):
        rid = rec.rollout_id(digest, name)
        rollout = plan.rollouts[name]
        check_waves(name, rollout, changes)
        spec = rollout.spec
        existing = rec.load(root, rid)
        if existing is not None and existing.status.state == "canceled":
            raise ReconcileError(
                f"rollout {rid} of this plan ({name}) was canceled: {existing.status.message}",
                hint="make a new plan (`reconcile plan`) and apply that",
            )
        record = existing or rec.RolloutRecord(
            id=rid,
            deployment_set=name,
            spec=spec,
            commit=plan.commit,
            target=plan.target,
            plan_digest=digest,
            plan_file=plan_file,
            from_version=_versions([c.release_from for c in changes]),
            to_version=_versions([c.release_to for c in changes]),
            status=rec.RolloutStatus(
                state=RolloutState.PENDING, created_at=rec.utc_now(), total_nodes=len(changes)
            ),
        )
        if existing is None:
            rec.save(root, record)  # before any write: a rerun then knows to look for ours
            for old in rec.supersede(root, record):
                reporter.note(name, f"{old.id} canceled: {old.status.message}")
        rollouts.append(
            SetRollout(
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
        )
    keys = {k for r in rollouts if r.will_write() for c in r.changes for k in c.instance_keys}
    instances = [i for i in plan.instances if i.key in keys]
    if instances:
        n = sum(1 for i in instances if not i.existing_id)
        reporter.note("apply", f"config instances: {n} to create")
    ids = await writes.ensure_instances(platform, instances)
    for r in rollouts:
        r.instance_ids = ids
    try:
        records = await asyncio.gather(*(r.run() for r in rollouts))
    finally:
        reporter.close()
    ledger = tuple(e for r in records for e in r.devices) + blocked_ledger(blocked)
    return ApplyResult(records=tuple(records), ledger=ledger, blocked=blocked, requests=platform.requests)
