"""Live state: what the platform says is true now, read in as few requests as the API allows.

Cost for a fleet of N devices with D live deployments and I distinct config instances:
ceil(N/100) + ceil(D/100) + ceil(I/100) pages plus a handful for groups, config types,
releases and schemas. The first page of each list asks for `total_count`; the rest are
then fetched concurrently (bounded by the Platform's semaphore).

Lists are read as raw JSON through the SDK (`with_raw_response`): the SDK still builds the
request, sends the headers and maps errors, but no models are constructed per item (for ten
thousand devices that costs more CPU than planning). Field access goes through `_get`, which
takes a plain dict or an SDK model alike.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from reconciler.model.live import (
    LIVE_TARGETS,
    LiveConfigType,
    LiveDeployment,
    LiveDevice,
    LiveGroup,
    LiveInstance,
    LiveRelease,
    LiveSchema,
    LiveSlot,
    LiveState,
)
from reconciler.platform.client import Platform

PAGE = 100  # the API's maximum page size

Progress = Callable[[str, int, int], None]  # (what, done, total)


def _list(resource: Any) -> Callable[..., Awaitable[Any]]:
    """A resource's `list` returning the page as plain JSON: building the SDK's models for
    ten thousand items costs more CPU than the rest of planning, and nothing here needs them."""
    raw = resource.with_raw_response.list

    async def call(**params: Any) -> Any:
        response = await raw(**params)
        return await response.json()

    return call


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of an SDK item, whether the SDK handed back a model or a plain dict."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _str(obj: Any, name: str) -> str:
    value = _get(obj, name)
    return "" if value is None else str(value)


def _opt(obj: Any, name: str) -> str | None:
    value = _get(obj, name)
    return None if value is None else str(value)


async def read_all(
    platform: Platform,
    fetch: Callable[..., Awaitable[Any]],
    *,
    what: str,
    progress: Progress | None = None,
    **params: Any,
) -> list[Any]:
    """Every item of a list endpoint: page 1 with total_count, the rest concurrently.
    `fetch` is an SDK `list` method; `params` are its filters (expand without total_count)."""
    expand = list(params.pop("expand", []))
    first = await platform.read(
        lambda: fetch(limit=PAGE, offset=0, expand=[*expand, "total_count"], **params), what=what
    )
    items = list(_get(first, "data", []) or [])
    total = _get(first, "total_count")
    if total is None:  # a server that ignores expand=total_count: walk has_more
        offset = PAGE
        more = bool(_get(first, "has_more"))
        while more:
            page = await platform.read(_page_call(fetch, offset, _with_expand(params, expand)), what=what)
            items.extend(_get(page, "data", []) or [])
            more = bool(_get(page, "has_more"))
            offset += PAGE
            if progress:
                progress(what, len(items), len(items))
        return items
    total = int(total)
    if progress:
        progress(what, len(items), total)

    async def page_at(offset: int) -> list[Any]:
        page = await platform.read(
            lambda: fetch(limit=PAGE, offset=offset, **_with_expand(params, expand)), what=what
        )
        data = list(_get(page, "data", []) or [])
        if progress:
            progress(what, len(data), total)
        return data

    pages = await asyncio.gather(*(page_at(o) for o in range(PAGE, total, PAGE)))
    for data in pages:
        items.extend(data)
    return _dedupe(items)


async def _nothing() -> list[Any]:
    return []


def _page_call(
    fetch: Callable[..., Awaitable[Any]], offset: int, params: dict[str, Any]
) -> Callable[[], Awaitable[Any]]:
    return lambda: fetch(limit=PAGE, offset=offset, **params)


def _with_expand(params: dict[str, Any], expand: list[str]) -> dict[str, Any]:
    return {**params, "expand": expand} if expand else dict(params)


def _dedupe(items: list[Any]) -> list[Any]:
    # Pages read concurrently can overlap when the list changes underneath; ids are unique.
    seen: set[str] = set()
    out = []
    for item in items:
        key = _str(item, "id")
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


async def read_by_ids(
    platform: Platform,
    fetch: Callable[..., Awaitable[Any]],
    ids: Iterable[str],
    *,
    what: str,
    progress: Progress | None = None,
    **params: Any,
) -> list[Any]:
    """Items by id through comma-list `id=` filters, 100 ids per request, concurrently."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    chunks = [wanted[i : i + PAGE] for i in range(0, len(wanted), PAGE)]

    async def one(chunk: list[str]) -> list[Any]:
        page = await platform.read(lambda: fetch(id=chunk, limit=PAGE, offset=0, **params), what=what)
        data = list(_get(page, "data", []) or [])
        if progress:
            progress(what, len(data), len(wanted))
        return data

    out: list[Any] = []
    for data in await asyncio.gather(*(one(c) for c in chunks)):
        out.extend(data)
    return out


# --- conversions -----------------------------------------------------------------------------


def _group(g: Any) -> LiveGroup:
    return LiveGroup(id=_str(g, "id"), name=_str(g, "name"), parent_id=_opt(g, "parent_id"))


def _config_type(t: Any) -> LiveConfigType:
    return LiveConfigType(id=_str(t, "id"), slug=_str(t, "slug"), name=_str(t, "name"))


def _schema(s: Any, slugs: Mapping[str, str]) -> LiveSchema:
    slots = tuple(
        LiveSlot(key=_str(x, "key"), filepath=_str(x, "filepath"), required=bool(_get(x, "required")))
        for x in (_get(s, "instance_slots") or [])
    )
    docs = tuple((_str(d, "name"), _str(d, "data")) for d in (_get(s, "documents") or []))
    type_id = _str(s, "config_type_id")
    ctype = _get(s, "config_type")
    slug = _str(ctype, "slug") if ctype is not None else slugs.get(type_id, "")
    return LiveSchema(
        id=_str(s, "id"),
        config_type_id=type_id,
        config_type_slug=slug,
        language=_str(s, "language"),
        instance_format=_str(s, "instance_format"),
        slots=slots,
        documents=docs,
        digest=_str(s, "digest"),
    )


def _release(r: Any) -> LiveRelease:
    schemas = _get(r, "config_schemas") or []
    return LiveRelease(
        id=_str(r, "id"), version=_str(r, "version"), schema_ids=tuple(sorted(_str(s, "id") for s in schemas))
    )


def _deployment(d: Any) -> LiveDeployment:
    return LiveDeployment(
        id=_str(d, "id"),
        device_id=_str(d, "device_id"),
        release_id=_str(d, "release_id"),
        target_status=_str(d, "target_status"),
        activity_status=_str(d, "activity_status"),
        error_status=_str(d, "error_status") or "none",
        status=_str(d, "status"),
        description=_str(d, "description"),
        instance_ids=tuple(_str(i, "id") for i in (_get(d, "config_instances") or [])),
        created_at=_str(d, "created_at"),
        parent_id=_opt(d, "parent_id"),
    )


def _instance(i: Any) -> LiveInstance:
    content = _get(i, "content")
    return LiveInstance(
        id=_str(i, "id"),
        config_schema_id=_str(i, "config_schema_id"),
        config_type_id=_str(i, "config_type_id"),
        slot_key=_str(i, "slot_key"),
        filepath=_str(i, "filepath"),
        format=_opt(content, "format") if content is not None else None,
        data=_opt(content, "data") if content is not None else None,
    )


def _device(d: Any) -> LiveDevice:
    release = _get(d, "current_release")
    deployment = _get(d, "current_deployment")
    return LiveDevice(
        id=_str(d, "id"),
        name=_str(d, "name"),
        status=_str(d, "status"),
        group_id=_opt(d, "group_id"),
        current_release_id=_opt(release, "id") if release is not None else None,
        current_release_version=_opt(release, "version") if release is not None else None,
        current_deployment_id=_opt(deployment, "id") if deployment is not None else None,
    )


# --- the read --------------------------------------------------------------------------------


async def read_live_state(
    platform: Platform,
    *,
    release_versions: Sequence[str] = (),
    progress: Progress | None = None,
    recent_instances: bool = True,
    with_deployments: bool = True,
) -> LiveState:
    """Read everything the planner needs.

    `release_versions`: the releases the manifests ask for (their schemas are read with
    their documents). `with_deployments=False` skips deployments and config instances (for
    checks that need names, not content: `validate --online`). `recent_instances` also reads
    the newest 100 instances of the desired schemas (one request).
    """
    tasks: list[asyncio.Task[Any]] = []
    try:
        return await _read(
            platform, sorted(set(release_versions)), progress, recent_instances, with_deployments, tasks
        )
    except BaseException:
        # On an error, stop the reads still in flight and collect the ones that failed too
        # (one unreachable platform fails every read; the first error is the one reported).
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _read(
    platform: Platform,
    versions: list[str],
    progress: Progress | None,
    recent_instances: bool,
    with_deployments: bool,
    tasks: list[asyncio.Task[Any]],
) -> LiveState:
    def task(coro: Awaitable[list[Any]]) -> asyncio.Task[list[Any]]:
        t = asyncio.ensure_future(coro)
        tasks.append(t)
        return t

    start = platform.requests
    s = platform.sdk

    # Everything that depends on nothing starts at once; the rest as soon as its input is in.
    groups_t = task(read_all(platform, _list(s.groups), what="reading groups", order_by=["id:asc"]))
    types_t = task(
        read_all(platform, _list(s.config_types), what="reading config types", order_by=["id:asc"])
    )
    devices_t = task(
        read_all(
            platform,
            _list(s.devices),
            what="reading devices",
            progress=progress,
            expand=["current_deployment", "current_release"],
            order_by=["id:asc"],
        )
    )
    deps_t = task(
        read_all(
            platform,
            _list(s.deployments),
            what="reading deployments",
            progress=progress,
            expand=["config_instances"],
            target_status=list(LIVE_TARGETS),
            order_by=["id:asc"],
        )
        if with_deployments
        else _nothing()
    )
    # The desired releases with their schemas; other releases are known from the devices'
    # `current_release` expansion (id and version are all the planner needs of them).
    wanted = [
        _release(r)
        for r in await read_by_ids_filter(
            platform,
            _list(s.releases),
            "version",
            versions,
            what="reading releases",
            expand=["config_schemas"],
        )
    ]
    schema_ids = sorted({sid for r in wanted for sid in r.schema_ids})
    schemas_t = task(
        read_by_ids(
            platform, _list(s.config_schemas), schema_ids, what="reading config schemas", expand=["documents"]
        )
    )
    # The newest instances of the desired schemas (one request): an instance created but never
    # deployed (an apply that stopped early) is still found and reused, not created twice.
    recent_t = task(
        _recent_instances(platform, schema_ids) if with_deployments and recent_instances else _nothing()
    )

    types = {t.id: t for t in map(_config_type, await types_t)}
    slugs = {t.id: t.slug for t in types.values()}
    groups = {g.id: g for g in map(_group, await groups_t)}
    devices = {d.name: d for d in map(_device, await devices_t)}
    deployments = {d.id: d for d in map(_deployment, await deps_t)}
    by_device: dict[str, list[str]] = {}
    for dep in deployments.values():
        by_device.setdefault(dep.device_id, []).append(dep.id)
    instance_ids = {i for d in deployments.values() for i in d.instance_ids}
    instances_t = task(
        read_by_ids(
            platform,
            _list(s.config_instances),
            instance_ids,
            progress=progress,
            what="reading config instances",
            expand=["content"],
        )
    )
    releases = {r.id: r for r in wanted}
    for d in devices.values():
        if d.current_release_id and d.current_release_id not in releases:
            releases[d.current_release_id] = LiveRelease(
                d.current_release_id, d.current_release_version or "", ()
            )
    unknown = {d.release_id for d in deployments.values()} - set(releases)  # e.g. staged for another release
    for r in await read_by_ids(platform, _list(s.releases), unknown, what="reading releases"):
        releases.setdefault(_str(r, "id"), _release(r))
    schemas = {x.id: x for x in (_schema(raw, slugs) for raw in await schemas_t)}
    instances = {i.id: i for i in map(_instance, await instances_t)}
    for inst in map(_instance, await recent_t):
        instances.setdefault(inst.id, inst)
    return LiveState(
        devices=devices,
        groups=groups,
        config_types=types,
        releases=releases,
        schemas=schemas,
        deployments=deployments,
        instances=instances,
        requests=platform.requests - start,
        by_device={k: tuple(v) for k, v in by_device.items()},
    )


async def _recent_instances(platform: Platform, schema_ids: Sequence[str]) -> list[Any]:
    if not schema_ids:
        return []
    page = await platform.read(
        lambda: _list(platform.sdk.config_instances)(
            config_schema_id=list(schema_ids),
            expand=["content"],
            order_by=["created_at:desc"],
            limit=PAGE,
            offset=0,
        ),
        what="reading config instances",
    )
    return list(_get(page, "data", []) or [])


async def read_recent_failures(platform: Platform) -> list[LiveDeployment]:
    """The 100 most recent failed deployments (one request; failed ones are archived, so
    `read_live_state` does not see them): enough to tell which devices' last attempt failed."""
    page = await platform.read(
        lambda: _list(platform.sdk.deployments)(
            error_status=["failed"], order_by=["created_at:desc"], limit=PAGE, offset=0
        ),
        what="reading deployments",
    )
    return [_deployment(d) for d in (_get(page, "data", []) or [])]


async def read_by_ids_filter(
    platform: Platform,
    fetch: Callable[..., Awaitable[Any]],
    key: str,
    values: Sequence[str],
    *,
    what: str,
    **params: Any,
) -> list[Any]:
    """Like `read_by_ids` for another comma-list filter (e.g. release `version=`)."""
    if not values:
        return []
    chunks = [list(values[i : i + PAGE]) for i in range(0, len(values), PAGE)]

    async def one(chunk: list[str]) -> list[Any]:
        page = await platform.read(lambda: fetch(**{key: chunk}, limit=PAGE, offset=0, **params), what=what)
        return list(_get(page, "data", []) or [])

    out: list[Any] = []
    for data in await asyncio.gather(*(one(c) for c in chunks)):
        out.extend(data)
    return out


def minimum_requests(n_devices: int, n_deployments: int, n_instances: int) -> int:
    """The fewest requests any reader could spend on this fleet's lists (pages of 100, at
    least one page each), without the few fixed ones (groups, types, releases, schemas)."""
    pages = sum(max(1, math.ceil(n / PAGE)) for n in (n_devices, n_deployments))
    return pages + math.ceil(n_instances / PAGE)
