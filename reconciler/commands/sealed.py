"""Sealed content in a saved plan: content with a secret field is saved as its digest only (the
plan file is a CI artifact), and apply reads it again from the manifests, checking the digest, so
it still applies exactly what was reviewed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reconciler.commands.planning import plan_with_state
from reconciler.commands.wiring import session
from reconciler.errors import ReconcileError
from reconciler.model.plan import Plan
from reconciler.model.project import Project


async def _contents(project: Project, base_url: str | None) -> dict[str, str]:
    """Every desired content of the project, by digest."""
    async with session(project, base_url) as wired:
        _, desired, _ = await plan_with_state(project, wired)
    return {c.key: c.data for d in desired.devices for c in d.configs}


async def unseal(plan: Plan, path: Path, project: Project, base_url: str | None) -> Plan:
    """`plan` with its sealed contents read again: from the working tree, else from the plan's
    commit. Refused when neither holds every sealed content the plan was made with."""
    sealed = {i.key for i in plan.instances if i.sealed and not i.data}
    if not sealed:
        return plan
    from reconciler.commands.plan import load_at

    found = await _contents(project, base_url)
    if not sealed <= found.keys() and plan.commit:
        at_commit, _ = load_at(path, plan.commit)
        found = await _contents(at_commit, base_url)
    missing = sorted(i.config_type for i in plan.instances if i.key in sealed and i.key not in found)
    if missing:
        raise ReconcileError(
            f"the saved plan holds secret content for {', '.join(sorted(set(missing)))} only as a digest, and "
            "neither the working tree nor the plan's commit produces that content now",
            hint="make the plan again (`reconcile plan --out`) from the manifests you mean to apply",
        )
    return replace(
        plan, instances=tuple(replace(i, data=found[i.key]) if i.key in sealed else i for i in plan.instances)
    )
