"""Planning as the commands run it: read what the manifests need from the platform, then
hand it to the pure planner. Shared by `plan`, `drift`, `apply` and `validate --online`."""

from __future__ import annotations

import asyncio
import datetime as _dt
import gc
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace

from reconciler.commands.wiring import Session
from reconciler.errors import PlatformError, Problem
from reconciler.model.control import Control
from reconciler.model.live import DeviceScope, LiveState
from reconciler.model.plan import Plan
from reconciler.model.project import Project
from reconciler.plan import desired as D
from reconciler.plan import online
from reconciler.plan import selection as S
from reconciler.plan.build import (
    desired_versions,
    expected_rollout_ids,
    mark_origin,
    plan_from,
    resolved,
    unenrolled,
)
from reconciler.plan.unmanaged import find_unmanaged
from reconciler.platform.client import Platform
from reconciler.platform.controls import read as controls_read
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
    early = _Early(session.platform, project, selection)
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
    early: _Early,
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
            wanted, platform, extra=base, progress=progress, scope=scope, on_catalog=early.start
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


SWITCH = 0.0005  # seconds a thread runs before the interpreter lock is offered to another
PREFETCH = 12  # rollouts whose control records one request reads (8 sequence numbers each)


class _Early:
    """What can start before the deployments are in: the manifests resolve against the catalog
    (devices, groups, releases, schemas), in a thread while the deployments' pages come in, and
    then the control records of the rollouts that resolution names are read, beside the rest
    of the reads rather than in one more round trip after the plan."""

    def __init__(self, platform: Platform, project: Project, selection: S.Selection) -> None:
        self._platform, self._project, self._selection = platform, project, selection
        self._desired: asyncio.Future[D.Desired] | None = None
        self._controls: asyncio.Future[dict[str, list[Control]]] | None = None

    def start(self, catalog: LiveState) -> None:
        self._desired = asyncio.ensure_future(asyncio.to_thread(self._in_thread, catalog))
        self._controls = asyncio.ensure_future(self._read_controls(self._desired))

    def _in_thread(self, catalog: LiveState) -> D.Desired:
        # The event loop takes the interpreter lock back within half a millisecond of a page
        # arriving, not the default 5 ms: otherwise every answer waits on the resolution and the
        # request slots it would free stand idle (at 10,000 devices, a round trip lost).
        before = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH)
        try:
            return self._resolve(catalog)
        finally:
            sys.setswitchinterval(before)

    def _resolve(self, state: LiveState) -> D.Desired:
        project, selection = self._project, self._selection
        chosen = S.chosen_sets(project, selection)
        only = chosen if selection.active else None
        return S.narrow(resolved(project, state, only, partial=S.by_name(selection)), selection)

    async def _read_controls(self, desired: Awaitable[D.Desired]) -> dict[str, list[Control]]:
        ids = expected_rollout_ids(await desired)
        # One request at most: more rollouts than that are read once the plan names them.
        return await controls_read(self._platform, ids) if 0 < len(ids) <= PREFETCH else {}

    async def desired(self, live: LiveState) -> D.Desired:
        return await self._desired if self._desired is not None else self._resolve(live)

    async def controls(self) -> dict[str, list[Control]]:
        try:
            return await self._controls if self._controls is not None else {}
        except PlatformError:
            return {}  # read again after the plan, where its error is reported as before

    async def stop(self) -> None:
        """Nothing left running when the read or the manifests failed first."""
        started = [f for f in (self._desired, self._controls) if f is not None]
        for f in started:
            f.cancel()  # (nothing once done)
        # Their errors are retrieved here: the one that matters was raised where it was awaited.
        await asyncio.gather(*started, return_exceptions=True)


async def online_problems(project: Project, platform: Platform) -> list[Problem]:
    """`validate --online`: names and schemas from the platform (no deployments), checked."""
    return online.online_problems(project, await read_for(project, platform, deployments=False))
