"""Every write `apply` makes, each sent exactly once per attempt through `Platform.write`,
never re-sent blindly, and the reads that decide it.

The platform has no idempotency keys, so each write has a way to tell whether an earlier
attempt landed:
- config instances are content-addressed: list the schema+slot's newest instances and match
  content before creating (and before any retry);
- deployments carry a description naming the rollout: after a 5xx/timeout, or a 409
  (parent_id mismatch), the device's deployments are listed and matched on it;
- deploy/archive are read back (`target_status`) before a retry.
When to wait and when to give up is `retry.py`'s one policy; paging is `paging.py`'s.
"""

from __future__ import annotations

import asyncio
import gc
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from reconciler.errors import PermissionDenied, PlatformError
from reconciler.model import marker
from reconciler.model.live import LIVE_TARGETS, LiveDeployment, LiveDevice, newest
from reconciler.model.plan import PlannedInstance
from reconciler.platform import convert as C
from reconciler.platform.client import Platform, post_json
from reconciler.platform.converge import LostInstance, converge, newest_instances
from reconciler.platform.paging import PAGE, Fetch, first_page, raw, read_where
from reconciler.platform.retry import CONFIRMING_READS, WRITES, Retry, retryable

Outcome = Literal["done", "stale", "failed"]
T = TypeVar("T")


@dataclass(frozen=True)
class WriteResult:
    outcome: Outcome
    deployment_id: str | None = None
    reason: str = ""
    already: bool = False  # an earlier attempt (this run or a crashed one) had landed


def same_write(description: str, desc: str) -> bool:
    """Written by the same rollout: markers name it (a device's wave may differ between two
    plans of one rollout); anything else must match exactly."""
    mine, theirs = marker.parse(desc), marker.parse(description)
    return mine.same_rollout(theirs) if mine is not None else description == desc


async def _write(platform: Platform, call: Callable[[], Awaitable[T]], *, what: str, scopes: str) -> T:
    try:
        return await platform.write(call, what=what)
    except PlatformError as e:
        if e.status in (401, 403):  # no retry and no read-back can make this write succeed
            raise PermissionDenied(what, scopes, e.status, e.message) from None
        raise


# --- config instances ---------------------------------------------------------------------


async def existing_instances(
    platform: Platform, schema_id: str, slot_key: str, wanted: Collection[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(format, data) -> id of the `wanted` contents already on the platform for this schema and
    slot. The read is bounded by what is wanted, not by the schema's history (a fleet edited from
    the dashboard piles up instances): newest first, until every wanted content is found or one
    page more than they could fill has been read. What an earlier attempt of this apply
    created is among the newest (unless a page of others shares its creation instant); an
    older identical instance left unused is simply not reused: a duplicate, never a wrong one."""
    want = set(wanted)
    found: dict[tuple[str, str], str] = {}
    pages = math.ceil(len(want) / PAGE) + 1
    for n in range(pages):
        rows, more = await newest_instances(platform, schema_id, slot_key, n)
        for inst in map(C.instance, rows):
            key = (inst.format or "", inst.data or "")
            if inst.data is not None and inst.slot_key == slot_key and key in want:
                found.setdefault(key, inst.id)
        if len(found) == len(want) or not rows or not more:
            break
    return found


async def ensure_instances(
    platform: Platform,
    instances: Sequence[PlannedInstance],
    created: list[str] | None = None,
    lost: list[LostInstance] | None = None,
) -> dict[str, str]:
    """Planned instance key -> platform id, creating only those with no identical content on
    the platform (so a rerun after a crash reuses what an earlier run created). The keys of
    those created are appended to `created`. What the plan did not know is settled against
    another apply creating it at once (`converge.py`): its instances that lost go to `lost`."""
    ids = {i.key: i.existing_id for i in instances if i.existing_id}
    mine: dict[str, str] = {}
    todo = [i for i in instances if not i.existing_id]
    groups: dict[tuple[str, str], list[PlannedInstance]] = {}
    for inst in todo:
        groups.setdefault((inst.config_schema_id, inst.slot_key), []).append(inst)

    async def one_group(schema_id: str, slot_key: str, group: list[PlannedInstance]) -> None:
        found = await existing_instances(platform, schema_id, slot_key, {(i.format, i.data) for i in group})
        for inst in group:
            have = found.get((inst.format, inst.data))
            if have is None:
                have = mine[inst.key] = await _create_instance(platform, inst)
                if created is not None:
                    created.append(inst.key)
            ids[inst.key] = have

    await asyncio.gather(*(one_group(s, k, g) for (s, k), g in groups.items()))
    if groups:
        (lost if lost is not None else []).extend(await converge(platform, groups, ids, mine))
    return ids


async def _create_instance(platform: Platform, inst: PlannedInstance) -> str:
    what = f"create config instance {inst.config_type} ({inst.key[:12]})"
    retry = Retry(WRITES, platform.sleep)
    while True:
        try:
            created = await _write(
                platform,
                lambda: platform.sdk.config_instances.create(
                    config_schema_id=inst.config_schema_id,
                    slot_key=inst.slot_key,
                    content={"data": inst.data, "format": inst.format},  # type: ignore[typeddict-item]
                ),
                what=what,
                scopes="config_instances:write",
            )
            return str(created.id)
        except PlatformError as e:
            # The answer was lost or refused: did it land anyway? Wait (it may still be
            # committing), then read before re-sending.
            if not await retry.wait(e):
                raise
        key = (inst.format, inst.data)
        found = await existing_instances(platform, inst.config_schema_id, inst.slot_key, [key])
        if key in found:
            return found[(inst.format, inst.data)]


# --- reads that decide and follow deployments --------------------------------------------


async def device_deployments(
    platform: Platform, device_ids: Sequence[str], *, live_only: bool = False
) -> dict[str, list[LiveDeployment]]:
    """device id -> its deployments (newest first), 100 devices per request, `PART` devices
    at a time (the reader sorts its ids in one step: 100,000 held the event loop for 40 ms).
    `live_only`: only those still staged or deployed (not archived)."""
    filters: dict[str, Any] = {"target_status": list(LIVE_TARGETS)} if live_only else {}
    out: dict[str, list[LiveDeployment]] = {}
    device_ids = list(dict.fromkeys(device_ids))  # a device in two parts would be read twice
    for i in range(0, len(device_ids), PART):
        part = device_ids[i : i + PART]
        out.update((d, []) for d in part)
        rows = await read_where(
            platform,
            kept(raw(platform.sdk.deployments)),
            "device_id",
            part,
            what="list deployments",
            policy=CONFIRMING_READS,
            order_by=["created_at:desc"],
            **filters,
        )
        async for dep in converted(rows, C.deployment):
            out.setdefault(dep.device_id, []).append(dep)
    return out


SLICE = 500  # rows converted between two turns of the event loop
PART = 50 * PAGE  # devices per whole read of their deployments (50 requests of 100)


def kept(fetch: Fetch) -> Fetch:
    """`fetch`, its pages frozen out of the garbage collector's full passes as they arrive:
    the pages of a whole fleet's read are all kept until converted, and a full pass in
    between walked every one of them (a tenth of a second per 10,000 devices, on the loop)."""

    async def frozen(**params: Any) -> Any:
        page = await fetch(**params)
        gc.freeze()
        return page

    return frozen


async def converted(rows: Sequence[Any], convert: Callable[[Any], T]) -> AsyncIterator[T]:
    """`map(convert, rows)`, letting the event loop run every `SLICE` rows: converting the
    deployments of 100,000 devices at once held it for seconds."""
    for i, row in enumerate(rows, start=1):
        yield convert(row)
        if i % SLICE == 0:
            # What was converted so far is kept by the caller (a whole fleet's deployments):
            # out of the garbage collector's full passes, which would walk all of it again.
            gc.freeze()
            await asyncio.sleep(0)


async def _newest(platform: Platform, device_id: str, what: str, **filters: Any) -> list[LiveDeployment]:
    """The device's newest page of deployments: a write checked moments ago is among them."""
    rows = await first_page(
        platform,
        raw(platform.sdk.deployments),
        what=what,
        policy=CONFIRMING_READS,
        device_id=[device_id],
        order_by=["created_at:desc"],
        **filters,
    )
    return [C.deployment(r) for r in rows]


async def find_own(
    platform: Platform, device_id: str, desc: str, *, live_only: bool
) -> LiveDeployment | None:
    """This rollout's deployment for the device, if one landed."""
    filters: dict[str, Any] = {"target_status": list(LIVE_TARGETS)} if live_only else {}
    deps = await _newest(platform, device_id, f"read the deployments of {device_id}", **filters)
    return next((d for d in deps if same_write(d.description, desc)), None)


async def _by_id(
    platform: Platform, resource: Any, ids: Sequence[str], what: str, expand: Sequence[str]
) -> list[Any]:
    """Many objects at once: `id=` comma filters, 100 per request, read until they answer."""
    filters: dict[str, Any] = {"expand": list(expand)} if expand else {}
    return await read_where(
        platform, kept(raw(resource)), "id", ids, what=what, policy=CONFIRMING_READS, **filters
    )


async def deployments_by_id(
    platform: Platform, ids: Sequence[str], *, expand: Sequence[str] = ()
) -> dict[str, LiveDeployment]:
    rows = await _by_id(platform, platform.sdk.deployments, ids, "poll deployments", expand)
    return {d.id: d async for d in converted(rows, C.deployment)}


async def devices_by_id(
    platform: Platform, ids: Sequence[str], *, expand: Sequence[str] = ()
) -> dict[str, LiveDevice]:
    rows = await _by_id(platform, platform.sdk.devices, ids, "read devices", expand)
    return {d.id: d async for d in converted(rows, C.device)}


async def _target_moved(platform: Platform, device_id: str, parent_id: str | None) -> bool:
    """Whether the device's target deployment is no longer the one the plan was made against."""
    deps = await _newest(
        platform, device_id, f"read the target deployment of {device_id}", target_status=["deployed"]
    )
    target = newest(deps)
    return (target.id if target else None) != parent_id


async def changed_since_plan(platform: Platform, device_id: str) -> str:
    """A stale device's reason in the user's words: what the device is meant to run now ("changed
    since the plan: now on release v1.4.2, deployment d-1 ('dashboard edit')"), not the
    platform's refusal text. Its target deployment, not the one it reports as current, which
    may lag until the agent confirms the new one."""
    words = "changed since the plan"
    try:
        rows = await first_page(
            platform,
            raw(platform.sdk.deployments),
            what=f"read the target deployment of {device_id}",
            policy=CONFIRMING_READS,
            device_id=[device_id],
            target_status=["deployed"],
            expand=["release"],
            order_by=["created_at:desc"],
        )
    except PlatformError:
        return words
    target = newest(map(C.deployment, rows))
    if target is None:
        return f"{words}: now with no release"
    row = next(r for r in rows if C.text(r, "id") == target.id)
    version = C.optional(C.get(row, "release"), "version")
    now = f"now on release {version}" if version else "now on another release"
    return f"{words}: {now}, deployment {target.id} ({target.description!r})"


# --- deployments ------------------------------------------------------------------------


async def create_deployment(
    platform: Platform,
    *,
    device: str,
    device_id: str,
    release_id: str,
    instance_ids: Sequence[str],
    desc: str,
    target_status: Literal["staged", "deployed"],
    parent_id: str | None,
) -> WriteResult:
    """Create one deployment with `parent_id` as the concurrency token.

    409: the device's target changed since the plan; if the current target (or staged
    one) is ours, an earlier attempt landed, else the device is stale. 5xx/429/timeout:
    list the device's deployments and re-send only when nothing of ours landed."""
    what = f"create deployment for {device}"
    retry = Retry(WRITES, platform.sleep)
    fields: dict[str, Any] = {"device_id": device_id, "release_id": release_id, "description": desc}
    fields.update(config_instance_ids=list(instance_ids), target_status=target_status, parent_id=parent_id)
    while True:
        try:
            scopes = f"deployments:write and deployments:{'stage' if target_status == 'staged' else 'deploy'}"
            created = await _write(platform, lambda: _raw_create(platform, fields), what=what, scopes=scopes)
            return WriteResult("done", C.text(created, "id"))
        except PlatformError as e:
            if not retryable(e):
                return await _refused(
                    platform, e, device=device, device_id=device_id, desc=desc, parent_id=parent_id
                )
            # Wait first: after a timeout the platform may still be committing the request,
            # and a read that comes too early would see nothing and cause a duplicate.
            again = await retry.wait(e)
            own = await find_own(platform, device_id, desc, live_only=False)
            if own is not None:
                return WriteResult("done", own.id, already=True)
            if not again:
                return WriteResult(
                    "failed", reason=f"gave up after {retry.attempt + 1} attempts: {e.message}"
                )


async def _raw_create(platform: Platform, fields: dict[str, Any]) -> Any:
    """The created deployment as plain JSON, through the SDK's own request method (what its
    `deployments.create` sends, with its headers, errors and timeouts): the fields are plain
    strings, so its per-call type transform has nothing to do, and only the new id is used,
    so no model of the answer is built. Both were CPU for nothing on every device."""
    return await post_json(platform.sdk, "/deployments", fields)


async def _refused(
    platform: Platform, e: PlatformError, *, device: str, device_id: str, desc: str, parent_id: str | None
) -> WriteResult:
    """A create the platform answered with a refusal (4xx): ours already, stale, or failed."""
    if e.status == 409:
        own = await find_own(platform, device_id, desc, live_only=True)
        if own is not None:
            return WriteResult("done", own.id, already=True)
        return WriteResult("stale", reason=await changed_since_plan(platform, device_id))
    # The platform may check its rules (e.g. "stage only for another release") before the
    # parent token: a refusal from a device that moved since the plan is the same staleness
    # a 409 reports, not a failed device.
    if e.status is not None and e.status < 500 and await _target_moved(platform, device_id, parent_id):
        return WriteResult("stale", reason=await changed_since_plan(platform, device_id))
    return WriteResult("failed", reason=e.message)


async def _status_write(
    platform: Platform, *, deployment_id: str, want: str, what: str, call: Callable[[], Awaitable[Any]]
) -> WriteResult:
    """deploy/archive: send, and on any error read the deployment back before re-sending."""
    retry = Retry(WRITES, platform.sleep)
    while True:
        try:
            await _write(
                platform,
                call,
                what=what,
                scopes=f"deployments:{'deploy' if want == 'deployed' else 'archive'}",
            )
            return WriteResult("done", deployment_id)
        except PlatformError as e:
            error = e
        try:
            d = C.deployment(
                await platform.read(
                    lambda: platform.sdk.deployments.retrieve(deployment_id),
                    what=what,
                    policy=CONFIRMING_READS,
                )
            )
        except PlatformError as e:
            return WriteResult("failed", deployment_id, reason=e.message)
        if d.target_status == want or (want == "deployed" and d.activity_status == "deployed"):
            return WriteResult("done", deployment_id, already=True)
        if not retryable(error) and want == "deployed" and d.target_status == "archived":
            now = await changed_since_plan(platform, d.device_id)
            return WriteResult("stale", deployment_id, reason=f"{now}; the staged deployment was archived")
        if not await retry.wait(error):
            gave_up = f"gave up after {retry.attempt + 1} attempts: " if retryable(error) else ""
            return WriteResult("failed", deployment_id, reason=gave_up + error.message)


async def deploy(platform: Platform, deployment_id: str, *, device: str) -> WriteResult:
    return await _status_write(
        platform,
        deployment_id=deployment_id,
        want="deployed",
        what=f"deploy {deployment_id} to {device}",
        call=lambda: platform.sdk.deployments.deploy(deployment_id),
    )


async def archive(platform: Platform, deployment_id: str, *, device: str) -> WriteResult:
    return await _status_write(
        platform,
        deployment_id=deployment_id,
        want="archived",
        what=f"archive {deployment_id} of {device}",
        call=lambda: platform.sdk.deployments.archive(deployment_id),
    )
