"""Planning as the commands run it: read what the manifests need from the platform, then
hand it to the pure planner. Shared by `plan`, `drift`, `apply` and `validate --online`."""

from __future__ import annotations

import asyncio
import datetime as _dt
import gc
from collections.abc import Callable
from dataclasses import replace

from reconciler.commands.early_reads import Early
from reconciler.commands.wiring import Session
from reconciler.errors import Problem
from reconciler.model.live import DeviceScope, LiveDeployment, LiveState
from reconciler.model.plan import Plan
from reconciler.model.project import Project
from reconciler.plan import desired as D
from reconciler.plan import online
from reconciler.plan import selection as S
from reconciler.plan.build import (
    desired_versions,
    mark_origin,
    plan_from,
    unenrolled,
)
from reconciler.plan.unmanaged import find_unmanaged
from reconciler.platform.client import Platform
from reconciler.platform.controls import with_controls
from reconciler.platform.enrollment import enrollment_diagnostics
from reconciler.platform.live import Progress, read_live_state, read_recent_failures


async def read_for(
    project: Project,
    platform: Platform,
    *,
    extra: Project | None = None,
    progress: Progress | None = None,
    deployments: bool = True,
    scope: DeviceScope | None = None,
    on_catalog: Callable[[LiveState], None] | None = None,
    on_deployments: Callable[[int, list[LiveDeployment]], None] | None = None,
) -> LiveState:
    """Live state for the releases the project (and `extra`, e.g. the `--base` manifests) asks for."""
    versions = set(desired_versions(project)) | (set(desired_versions(extra)) if extra else set())
    return await read_live_state(
        platform,
        release_versions=sorted(versions),
        progress=progress,
        with_deployments=deployments,
        scope=scope,
        on_catalog=on_catalog,
        on_deployments=on_deployments,
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
    selection: S.Selection = S.EVERYTHING,
) -> Plan:
    """Read live state, resolve the manifests against it, plan. Manifest errors that only
    show against the platform (unknown groups, a device in two sets) raise ValidationFailed."""
    plan, _, _ = await plan_with_state(
        project,
        session,
        base=base,
        commit=commit,
        progress=progress,
        created_at=created_at,
        selection=selection,
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
    selection: S.Selection = S.EVERYTHING,
) -> tuple[Plan, D.Desired, LiveState]:
    """`make_plan`, also returning what it was made from (for `drift`). A `selection` plans
    part of the fleet and reads only what that part needs."""
    early = Early(session.platform, project, selection)
    try:
        return await _planned(project, session, base, commit, progress, created_at, selection, early)
    finally:
        await early.stop()
        gc.unfreeze()  # what `_planned` froze once it was read


async def _planned(
    project: Project,
    session: Session,
    base: Project | None,
    commit: str | None,
    progress: Progress | None,
    created_at: str | None,
    selection: S.Selection,
    early: Early,
) -> tuple[Plan, D.Desired, LiveState]:
    platform = session.platform
    chosen = S.chosen_sets(project, selection)
    wanted = replace(project, sets=tuple(ds for ds in project.sets if ds.name in chosen))
    scope = S.scope(project, selection, chosen)
    # The fleet's newest failures, whatever the selection (one request): a shard then judges
    # its sets exactly as a run over the whole fleet would. Read beside the rest, not after it
    # (one round trip less).
    failures = asyncio.ensure_future(read_recent_failures(platform))
    try:
        live = await read_for(
            wanted,
            platform,
            extra=base,
            progress=progress,
            scope=scope,
            on_catalog=early.start,
            on_deployments=early.deployments,
        )
        # What was read is kept to the end: the collections planning triggers need not walk it
        # again and again (0.2 s per 50,000 devices). Unfrozen by `plan_with_state`.
        gc.freeze()
        desired = await early.desired(live)
        live = replace(live, failed=tuple(await failures))
    finally:
        failures.cancel()  # when the read or the manifests failed first; nothing once done
        await asyncio.gather(failures, return_exceptions=True)
    diagnostics: dict[str, tuple[str, ...]] = {}
    if project.enrollment is not None:
        diagnostics = await enrollment_diagnostics(
            project.enrollment,
            platform,
            unenrolled(desired),
            default_token=session.enrollment_token,
            on_platform_host=session.enrollment_on_host,
        )
    plan = plan_from(
        desired,
        live,
        diagnostics=diagnostics,
        commit=commit,
        target=platform.target,
        created_at=created_at if created_at is not None else now(),
        now=session.clock.utc(),
        early=await early.reuse(live),
    )
    plan = await with_controls(plan, platform, await early.controls())
    base_desired = D.resolve(base, live) if base is not None else None
    if base_desired is not None:
        plan = mark_origin(plan, desired, base_desired)
    if not selection.active:  # a part of the fleet cannot tell what no set selects
        found = find_unmanaged(
            project.unmanaged,
            chosen,
            desired,
            live,
            base_desired,
            [ds.name for ds in base.sets] if base is not None else (),
        )
        plan = replace(plan, unmanaged=found)
    if project.max_devices_per_apply:
        plan = replace(plan, max_devices_per_apply=project.max_devices_per_apply)
    return plan, desired, live


async def online_problems(project: Project, platform: Platform) -> list[Problem]:
    """`validate --online`: names and schemas from the platform (no deployments), checked."""
    return online.online_problems(project, await read_for(project, platform, deployments=False))
