"""Planning as the commands run it: read what the manifests need from the platform, then
hand it to the pure planner. Shared by `plan`, `drift`, `apply` and `validate --online`."""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace

from reconciler.commands.wiring import Session
from reconciler.errors import Problem
from reconciler.model.live import LiveState
from reconciler.model.plan import Plan
from reconciler.model.project import Project
from reconciler.plan import desired as D
from reconciler.plan import online
from reconciler.plan.build import desired_versions, mark_origin, plan_from, resolved, unenrolled
from reconciler.platform.client import Platform
from reconciler.platform.enrollment import enrollment_diagnostics
from reconciler.platform.live import Progress, read_live_state, read_recent_failures


async def read_for(
    project: Project,
    platform: Platform,
    *,
    extra: Project | None = None,
    progress: Progress | None = None,
    deployments: bool = True,
) -> LiveState:
    """Live state for the releases the project (and `extra`, e.g. the `--base` manifests) asks for."""
    versions = set(desired_versions(project)) | (set(desired_versions(extra)) if extra else set())
    return await read_live_state(
        platform, release_versions=sorted(versions), progress=progress, with_deployments=deployments
    )


def now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


async def make_plan(
    project: Project,
    session: Session,
    *,
    base: Project | None = None,
    commit: str | None = None,
    progress: Progress | None = None,
    created_at: str | None = None,
) -> Plan:
    """Read live state, resolve the manifests against it, plan. Manifest errors that only
    show against the platform (unknown groups, a device in two sets) raise ValidationFailed."""
    plan, _, _ = await plan_with_state(
        project, session, base=base, commit=commit, progress=progress, created_at=created_at
    )
    return plan


async def plan_with_state(
    project: Project,
    session: Session,
    *,
    base: Project | None = None,
    commit: str | None = None,
    progress: Progress | None = None,
    created_at: str | None = None,
) -> tuple[Plan, D.Desired, LiveState]:
    """`make_plan`, also returning what it was made from (for `drift`)."""
    platform = session.platform
    live = await read_for(project, platform, extra=base, progress=progress)
    live = replace(live, failed=tuple(await read_recent_failures(platform)))
    desired = resolved(project, live)
    diagnostics: dict[str, tuple[str, ...]] = {}
    if project.enrollment is not None:
        diagnostics = await enrollment_diagnostics(
            project.enrollment, platform, unenrolled(desired), default_token=session.enrollment_token
        )
    plan = plan_from(
        desired,
        live,
        diagnostics=diagnostics,
        commit=commit,
        target=platform.target,
        created_at=created_at if created_at is not None else now(),
        now=session.clock.utc(),
    )
    if base is not None:
        plan = mark_origin(plan, desired, D.resolve(base, live))
    if project.max_devices_per_apply:
        plan = replace(plan, max_devices_per_apply=project.max_devices_per_apply)
    return plan, desired, live


async def online_problems(project: Project, platform: Platform) -> list[Problem]:
    """`validate --online`: names and schemas from the platform (no deployments), checked."""
    return online.online_problems(project, await read_for(project, platform, deployments=False))
