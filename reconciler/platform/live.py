"""Live state: what the platform says is true now, read in as few requests as the API allows.

Cost for a fleet of N devices with D live deployments and I distinct config instances:
ceil(N/100) + ceil(D/100) + ceil(I/100) pages plus a handful for groups, config types,
releases and schemas. Paging is `paging.py`'s; items become model types in `convert.py`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.model.live import (
    LIVE_TARGETS,
    DeviceScope,
    LiveDeployment,
    LiveDevice,
    LiveGroup,
    LiveInstance,
    LiveRelease,
    LiveState,
)
from reconciler.platform import convert as C
from reconciler.platform.client import Platform
from reconciler.platform.paging import (
    PAGE,
    Progress,
    first_page,
    first_pages,
    listing,
    raw,
    read_all,
    read_where,
)
from reconciler.platform.slots import Priority

__all__ = ["PAGE", "Progress", "minimum_requests", "read_live_state", "read_recent_failures"]


async def _nothing() -> list[Any]:
    return []


async def read_live_state(
    platform: Platform,
    *,
    release_versions: Sequence[str] = (),
    progress: Progress | None = None,
    recent_instances: bool = True,
    with_deployments: bool = True,
    scope: DeviceScope | None = None,
    on_catalog: Callable[[LiveState], None] | None = None,
    on_deployments: Callable[[int, list[LiveDeployment]], None] | None = None,
) -> LiveState:
    """Read everything the planner needs.

    `release_versions`: the releases the manifests ask for (their schemas are read with
    their documents). `with_deployments=False` skips deployments and config instances (for
    checks that need names, not content: `validate --online`). `recent_instances` also reads
    the newest 100 instances of the desired schemas (one request). `scope` reads part of the
    fleet: its devices by `group_id` or `name` filters (every device only when a selector or
    `--device` needs name patterns), and deployments only of the devices it picks, by
    `device_id`, so the cost follows the selection rather than the fleet. `on_catalog` is
    handed the state without deployments (devices, groups, types, the desired releases,
    schemas, the newest instances) as soon as that is in, while the deployments are
    still being read: the manifests resolve against it meanwhile. `on_deployments` is handed
    each page of live deployments (its offset, its items) as it arrives (of the whole fleet's read, not a scope's).
    """
    reader = _Reader(
        platform, progress, recent_instances, with_deployments, scope, on_catalog, on_deployments
    )
    try:
        return await reader.read(sorted(set(release_versions)))
    except BaseException:
        # On an error, stop the reads still in flight and collect the ones that failed too
        # (one unreachable platform fails every read; the first error is the one reported).
        for t in reader.tasks:
            t.cancel()
        await asyncio.gather(*reader.tasks, return_exceptions=True)
        raise


@dataclass
class _Reader:
    platform: Platform
    progress: Progress | None
    recent_instances: bool
    with_deployments: bool
    scope: DeviceScope | None = None
    on_catalog: Callable[[LiveState], None] | None = None
    on_deployments: Callable[[int, list[LiveDeployment]], None] | None = None
    tasks: list[asyncio.Task[list[Any]]] = field(default_factory=list)

    def start(self, coro: Awaitable[list[Any]]) -> asyncio.Task[list[Any]]:
        t = asyncio.ensure_future(coro)
        self.tasks.append(t)
        return t

    async def read(self, versions: list[str]) -> LiveState:
        """Everything that depends on nothing starts at once; the rest as soon as its input is in."""
        platform, progress, start = self.platform, self.progress, self.platform.requests
        groups_t = self.start(_by_id_order(platform, platform.sdk.groups, "reading groups", C.group))
        types_t = self.start(
            _by_id_order(platform, platform.sdk.config_types, "reading config types", C.config_type)
        )
        scope = self.scope
        if scope is None:
            devices_t = self.start(_devices(platform, progress))
            deps_t = self.start(
                _deployments(platform, progress, self.on_deployments) if self.with_deployments else _nothing()
            )
        else:
            devices_t = self.start(_scoped_devices(platform, progress, scope, groups_t))
        wanted = await _wanted_releases(platform, versions)
        schema_ids = sorted({sid for r in wanted for sid in r.schema_ids})
        schemas_t = self.start(_schemas(platform, schema_ids))
        with_recent = self.with_deployments and self.recent_instances
        recent_t = self.start(_recent_instances(platform, schema_ids) if with_recent else _nothing())
        devices = {d.name: d for d in await devices_t}
        groups = {g.id: g for g in await groups_t}
        if scope is not None:
            picked = devices if scope.chosen is None else scope.chosen(devices, groups)
            ids = sorted(devices[n].id for n in picked if n in devices)
            wanted_deps = _deployments_of(platform, progress, ids) if self.with_deployments else _nothing()
            deps_t = self.start(wanted_deps)
        types = {t.id: t for t in await types_t}
        slugs = {t.id: t.slug for t in types.values()}
        schemas = {x.id: x for x in (C.schema(item, slugs) for item in await schemas_t)}
        known = _known_releases(wanted, devices.values())
        recent = await recent_t
        if self.on_catalog is not None:
            newest = _instances_by_id([], recent)
            self.on_catalog(
                LiveState(devices, groups, types, known, schemas, deployments={}, instances=newest)
            )
        deployments = {d.id: d for d in await deps_t}
        instances_t = self.start(_instances(platform, deployments.values(), progress, recent))
        return LiveState(
            devices=devices,
            groups=groups,
            config_types=types,
            releases=await _releases(platform, known, deployments.values()),
            schemas=schemas,
            deployments=deployments,
            instances=_instances_by_id(await instances_t, recent),
            requests=platform.requests - start,
            by_device=_by_device(deployments.values()),
        )


def _by_id_order(
    platform: Platform, resource: Any, what: str, item: Callable[[Any], Any]
) -> Awaitable[list[Any]]:
    return read_all(platform, raw(resource, item), what=what, order_by=["id:asc"])


def _instances_by_id(live: list[LiveInstance], recent: list[LiveInstance]) -> dict[str, LiveInstance]:
    instances = {i.id: i for i in live}
    for inst in recent:
        instances.setdefault(inst.id, inst)
    return instances


async def _schemas(platform: Platform, schema_ids: list[str]) -> list[Any]:
    return await read_where(
        platform,
        raw(platform.sdk.config_schemas),
        "id",
        schema_ids,
        what="reading config schemas",
        expand=["documents"],
    )


async def _devices(platform: Platform, progress: Progress | None) -> list[Any]:
    return await read_all(
        platform,
        listing(platform.sdk, "/devices", C.device),
        what="reading devices",
        progress=progress,
        expand=["current_deployment", "current_release"],
        order_by=["id:asc"],
    )


async def _deployments(
    platform: Platform,
    progress: Progress | None,
    on_page: Callable[[int, list[LiveDeployment]], None] | None = None,
) -> list[Any]:
    return await read_all(
        platform,
        listing(platform.sdk, "/deployments", C.deployment),
        what="reading deployments",
        progress=progress,
        on_page=on_page,
        # Nothing waits on these before the plan: the devices' pages, the schemas and the control
        # records the manifests' resolution needs go first.
        priority=Priority.LAST,
        expand=["config_instances"],
        target_status=list(LIVE_TARGETS),
        order_by=["id:asc"],
    )


async def _scoped_devices(
    platform: Platform, progress: Progress | None, scope: DeviceScope, groups_t: Awaitable[list[Any]]
) -> list[Any]:
    if scope.every:
        return await _devices(platform, progress)
    group_ids = _below(await groups_t, scope.groups)
    fetch = listing(platform.sdk, "/devices", C.device)
    params: dict[str, Any] = {"expand": ["current_deployment", "current_release"], "order_by": ["id:asc"]}
    by_group, by_name = await asyncio.gather(
        read_where(
            platform, fetch, "group_id", group_ids, what="reading devices", progress=progress, **params
        ),
        read_where(platform, fetch, "name", scope.names, what="reading devices", progress=progress, **params),
    )
    # A device both in a group and named: once.
    return list({d.id: d for d in by_group + by_name}.values())


def _below(groups: Iterable[LiveGroup], names: Iterable[str]) -> list[str]:
    """Ids of the named groups and of every group under them (a selector's group covers its subgroups)."""
    children: dict[str | None, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    for g in groups:
        children.setdefault(g.parent_id, []).append(g.id)
        by_name.setdefault(g.name, []).append(g.id)
    out: set[str] = set()
    stack = [gid for n in names for gid in by_name.get(n, ())]
    while stack:
        gid = stack.pop()
        if gid not in out:
            out.add(gid)
            stack.extend(children.get(gid, ()))
    return sorted(out)


async def _deployments_of(platform: Platform, progress: Progress | None, device_ids: list[str]) -> list[Any]:
    return await read_where(
        platform,
        listing(platform.sdk, "/deployments", C.deployment),
        "device_id",
        device_ids,
        what="reading deployments",
        progress=progress,
        # Nothing waits on these before the plan: the devices' pages, the schemas and the control
        # records the manifests' resolution needs go first.
        priority=Priority.LAST,
        expand=["config_instances"],
        target_status=list(LIVE_TARGETS),
        order_by=["id:asc"],
    )


async def _instances(
    platform: Platform,
    deployments: Iterable[LiveDeployment],
    progress: Progress | None,
    recent: Iterable[LiveInstance] = (),
) -> list[Any]:
    """The live deployments' instances, but those the read of the newest ones already brought:
    usually all of them, and then the read after the deployments' last page (a round trip
    that waited on every other) is not made."""
    have = {i.id for i in recent}
    return await read_where(
        platform,
        listing(platform.sdk, "/config_instances", C.instance),
        "id",
        sorted({i for d in deployments for i in d.instance_ids} - have),
        progress=progress,
        what="reading config instances",
        expand=["content"],
    )


async def _wanted_releases(platform: Platform, versions: list[str]) -> list[LiveRelease]:
    """The desired releases with their schemas."""
    rows = await read_where(
        platform,
        raw(platform.sdk.releases),
        "version",
        versions,
        what="reading releases",
        expand=["config_schemas"],
    )
    return [C.release(r) for r in rows]


def _known_releases(wanted: list[LiveRelease], devices: Iterable[LiveDevice]) -> dict[str, LiveRelease]:
    """The desired releases and every device's current one (id and version from the devices'
    `current_release` expansion are all the planner needs of them)."""
    releases = {r.id: r for r in wanted}
    for d in devices:
        if d.current_release_id and d.current_release_id not in releases:
            releases[d.current_release_id] = LiveRelease(
                d.current_release_id, d.current_release_version or "", ()
            )
    return releases


async def _releases(
    platform: Platform, known: dict[str, LiveRelease], deployments: Iterable[LiveDeployment]
) -> dict[str, LiveRelease]:
    """`known`, and those live deployments name (e.g. staged for another release)."""
    releases = dict(known)
    unknown = sorted({d.release_id for d in deployments} - set(releases))
    for r in await read_where(platform, raw(platform.sdk.releases), "id", unknown, what="reading releases"):
        releases.setdefault(C.text(r, "id"), C.release(r))
    return releases


def _by_device(deployments: Iterable[LiveDeployment]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for dep in deployments:
        out.setdefault(dep.device_id, []).append(dep.id)
    return {k: tuple(v) for k, v in out.items()}


async def _recent_instances(platform: Platform, schema_ids: Sequence[str]) -> list[Any]:
    """The newest instances of the desired schemas (one request): an instance created but
    never deployed (an apply that stopped early) is still found and reused, not created twice."""
    if not schema_ids:
        return []
    return await first_page(
        platform,
        listing(platform.sdk, "/config_instances", C.instance),
        what="reading config instances",
        config_schema_id=list(schema_ids),
        expand=["content"],
        order_by=["created_at:desc"],
    )


FAILURE_PAGES = 10  # the failed deployments failure memory looks at: the newest 1,000


async def read_recent_failures(platform: Platform) -> list[LiveDeployment]:
    """The 1,000 most recent failed deployments (failed ones are archived, so
    `read_live_state` does not see them): enough to tell which devices' last attempt failed.
    One request in a fleet with fewer than 100 failures; ten at once above that, so a content
    that failed is not forgotten after one page of newer failures elsewhere."""
    rows = await first_pages(
        platform,
        raw(platform.sdk.deployments),
        FAILURE_PAGES,
        what="reading deployments",
        error_status=["failed"],
        order_by=["created_at:desc"],
    )
    return [C.deployment(d) for d in rows]


def minimum_requests(n_devices: int, n_deployments: int, n_instances: int) -> int:
    """The fewest requests any reader could spend on this fleet's lists (pages of 100, at
    least one page each), without the few fixed ones (groups, types, releases, schemas)."""
    pages = sum(max(1, math.ceil(n / PAGE)) for n in (n_devices, n_deployments))
    return pages + math.ceil(n_instances / PAGE)
