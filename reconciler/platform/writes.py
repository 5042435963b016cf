"""Every write `apply` makes, each sent exactly once per attempt through `Platform.write`,
and never re-sent blindly.

The platform has no idempotency keys, so each write has a way to tell whether an earlier
attempt landed:
- config instances are content-addressed: list the schema+slot's instances and match
  content before creating (and before any retry);
- deployments carry a description naming the rollout: after a 5xx/timeout, or a 409
  (parent_id mismatch), the device's deployments are listed and matched on it;
- deploy/archive are read back (`target_status`) before a retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import miru_platform_sdk as sdk

from reconciler.errors import PlatformError
from reconciler.model.plan import PlannedInstance
from reconciler.platform.client import Platform

WRITE_ATTEMPTS = 6
READ_ROUNDS = 4
PAGE = 100
T = TypeVar("T")

Outcome = Literal["done", "stale", "failed"]


@dataclass(frozen=True)
class WriteResult:
    outcome: Outcome
    deployment_id: str | None = None
    reason: str = ""
    already: bool = False  # an earlier attempt (this run or a crashed one) had landed


def description(commit: str | None, deployment_set: str, rollout: str) -> str:
    return f"reconcile commit={commit or 'none'} set={deployment_set} rollout={rollout}"


def _retryable(e: PlatformError) -> bool:
    return e.status is None or e.status in (408, 429) or e.status >= 500


def _backoff(attempt: int, error: PlatformError | None = None) -> float:
    """Exponential backoff with jitter, or the platform's Retry-After when it sent one
    (`Platform.write` maps the SDK error; the original stays on `__context__`)."""
    delay = float(min(4.0, 0.1 * 2**attempt) * (0.5 + random.random() / 2))
    original = error.__context__ if error is not None else None
    if isinstance(original, sdk.APIStatusError):
        value = original.response.headers.get("retry-after")
        with contextlib.suppress(ValueError):
            delay = max(delay, min(30.0, float(value))) if value is not None else delay
    return delay


# --- TEST HOOK (crash tests only) ------------------------------------------------------
# RECONCILE_TEST_KILL_AFTER=<n>: the process SIGKILLs itself right after its n-th write
# has been answered (before the answer is recorded anywhere), so tests can crash `apply`
# deterministically at any point and check that a rerun converges. Unset in normal use.
_writes_answered = 0


def _test_kill_hook() -> None:
    global _writes_answered
    _writes_answered += 1
    limit = os.environ.get("RECONCILE_TEST_KILL_AFTER")
    if limit and _writes_answered >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


# --- END TEST HOOK ----------------------------------------------------------------------


async def _write(platform: Platform, call: Callable[[], Awaitable[T]], what: str) -> T:
    try:
        return await platform.write(call, what=what)
    finally:
        _test_kill_hook()


def chunks(items: Sequence[str], size: int = PAGE) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def list_all(platform: Platform, fetch: Callable[[int], Awaitable[Any]], what: str) -> list[Any]:
    """Every page of a list call (`fetch(offset)` returns a page with `data` and `has_more`)."""
    out: list[Any] = []
    offset = 0
    while True:
        page = await hard_read(platform, lambda o=offset: fetch(o), what=what)  # type: ignore[misc]
        out.extend(page.data)
        if not page.has_more or not page.data:
            return out
        offset += len(page.data)


async def hard_read(platform: Platform, call: Callable[[], Awaitable[T]], *, what: str) -> T:
    """A read that decides whether a write landed must not give up on a burst of 429/5xx
    (giving up there would crash the run mid-rollout): a few more rounds of `Platform.read`."""
    for attempt in range(READ_ROUNDS):
        try:
            return await platform.read(call, what=what)
        except PlatformError as e:
            if not _retryable(e) or attempt == READ_ROUNDS - 1:
                raise
        await asyncio.sleep(_backoff(attempt + 2))
    raise AssertionError("unreachable")


# --- config instances ---------------------------------------------------------------------


async def existing_instances(platform: Platform, schema_id: str, slot_key: str) -> dict[tuple[str, str], str]:
    """(format, data) -> id for every instance of this schema and slot (the oldest wins)."""
    rows = await list_all(
        platform,
        lambda o: platform.sdk.config_instances.list(
            config_schema_id=[schema_id],
            slot_key=[slot_key],
            expand=["content"],
            limit=PAGE,
            offset=o,
            order_by=["created_at:asc"],
        ),
        what=f"list config instances of {schema_id}",
    )
    found: dict[tuple[str, str], str] = {}
    for r in rows:
        if r.content is not None and r.slot_key == slot_key:
            found.setdefault((r.content.format, r.content.data), r.id)
    return found


async def ensure_instances(
    platform: Platform, instances: Sequence[PlannedInstance], created: list[str] | None = None
) -> dict[str, str]:
    """Planned instance key -> platform id, creating only those with no identical content on
    the platform (so a rerun after a crash reuses what an earlier run created). The keys of
    those created are appended to `created`."""
    ids = {i.key: i.existing_id for i in instances if i.existing_id}
    todo = [i for i in instances if not i.existing_id]
    groups: dict[tuple[str, str], list[PlannedInstance]] = {}
    for inst in todo:
        groups.setdefault((inst.config_schema_id, inst.slot_key), []).append(inst)

    async def one_group(schema_id: str, slot_key: str, group: list[PlannedInstance]) -> None:
        found = await existing_instances(platform, schema_id, slot_key)
        for inst in group:
            have = found.get((inst.format, inst.data))
            if have is None:
                have = await _create_instance(platform, inst)
                if created is not None:
                    created.append(inst.key)
            ids[inst.key] = have

    await asyncio.gather(*(one_group(s, k, g) for (s, k), g in groups.items()))
    return ids


async def _create_instance(platform: Platform, inst: PlannedInstance) -> str:
    what = f"create config instance {inst.config_type} ({inst.key[:12]})"
    error: PlatformError | None = None
    for attempt in range(WRITE_ATTEMPTS):
        try:
            created = await _write(
                platform,
                lambda: platform.sdk.config_instances.create(
                    config_schema_id=inst.config_schema_id,
                    slot_key=inst.slot_key,
                    content={"data": inst.data, "format": inst.format},  # type: ignore[typeddict-item]
                ),
                what,
            )
            return str(created.id)
        except PlatformError as e:
            if not _retryable(e) or attempt == WRITE_ATTEMPTS - 1:
                raise
            error = e
        # The answer was lost or refused: did it land anyway? Wait (it may still be
        # committing), then read before re-sending.
        await asyncio.sleep(_backoff(attempt, error))
        found = await existing_instances(platform, inst.config_schema_id, inst.slot_key)
        if (inst.format, inst.data) in found:
            return found[(inst.format, inst.data)]
    raise AssertionError("unreachable")


# --- deployments ------------------------------------------------------------------------


async def device_deployments(
    platform: Platform, device_ids: Sequence[str], *, live_only: bool = False
) -> dict[str, list[Any]]:
    """device id -> its deployments (newest first), 100 devices per request.
    `live_only`: only those still staged or deployed (not archived)."""
    out: dict[str, list[Any]] = {d: [] for d in device_ids}

    async def batch(ids: Sequence[str]) -> None:
        kwargs: dict[str, Any] = {"device_id": list(ids), "limit": PAGE, "order_by": ["created_at:desc"]}
        if live_only:
            kwargs["target_status"] = ["staged", "deployed"]
        rows = await list_all(
            platform, lambda o: platform.sdk.deployments.list(**kwargs, offset=o), what="list deployments"
        )
        for r in rows:
            out.setdefault(r.device_id, []).append(r)

    await asyncio.gather(*(batch(c) for c in chunks(list(device_ids))))
    return out


async def find_own(platform: Platform, device_id: str, desc: str, *, live_only: bool) -> Any | None:
    """This rollout's deployment for the device, if one landed. Only the newest page is
    read: the write being checked was sent moments ago, so it is among the newest."""
    kwargs: dict[str, Any] = {"device_id": [device_id], "limit": PAGE, "order_by": ["created_at:desc"]}
    if live_only:
        kwargs["target_status"] = ["staged", "deployed"]
    page = await hard_read(
        platform, lambda: platform.sdk.deployments.list(**kwargs), what=f"read the deployments of {device_id}"
    )
    return next((d for d in page.data if d.description == desc), None)


async def deployments_by_id(
    platform: Platform, ids: Sequence[str], *, expand: Sequence[str] = ()
) -> dict[str, Any]:
    """Poll many deployments at once: `id=` comma filters, 100 per request."""
    out: dict[str, Any] = {}

    async def batch(chunk: Sequence[str]) -> None:
        kwargs: dict[str, Any] = {"id": list(chunk), "limit": PAGE}
        if expand:
            kwargs["expand"] = list(expand)
        rows = await list_all(
            platform, lambda o: platform.sdk.deployments.list(**kwargs, offset=o), what="poll deployments"
        )
        out.update({r.id: r for r in rows})

    await asyncio.gather(*(batch(c) for c in chunks(sorted(set(ids)))))
    return out


async def devices_by_id(platform: Platform, ids: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}

    async def batch(chunk: Sequence[str]) -> None:
        rows = await list_all(
            platform,
            lambda o: platform.sdk.devices.list(id=list(chunk), limit=PAGE, offset=o),
            what="read devices",
        )
        out.update({r.id: r for r in rows})

    await asyncio.gather(*(batch(c) for c in chunks(sorted(set(ids)))))
    return out


async def _target_moved(platform: Platform, device_id: str, parent_id: str | None) -> bool:
    """Whether the device's target deployment is no longer the one the plan was made against."""
    page = await hard_read(
        platform,
        lambda: platform.sdk.deployments.list(
            device_id=[device_id], target_status=["deployed"], limit=PAGE, order_by=["created_at:desc"]
        ),
        what=f"read the target deployment of {device_id}",
    )
    return (page.data[0].id if page.data else None) != parent_id


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
    last = ""
    error: PlatformError | None = None
    for attempt in range(WRITE_ATTEMPTS):
        try:
            created = await _write(
                platform,
                lambda: platform.sdk.deployments.create(
                    device_id=device_id,
                    release_id=release_id,
                    config_instance_ids=list(instance_ids),
                    description=desc,
                    target_status=target_status,
                    parent_id=parent_id,
                ),
                what,
            )
            return WriteResult("done", created.id)
        except PlatformError as e:
            if e.status == 409:
                own = await find_own(platform, device_id, desc, live_only=True)
                if own is not None:
                    return WriteResult("done", own.id, already=True)
                return WriteResult("stale", reason=f"{device} changed since the plan (parent_id mismatch)")
            if not _retryable(e):
                # The platform may check its rules (e.g. "stage only for another release")
                # before the parent token: a refusal from a device that moved since the
                # plan is the same staleness a 409 reports, not a failed device.
                if (
                    e.status is not None
                    and e.status < 500
                    and await _target_moved(platform, device_id, parent_id)
                ):
                    return WriteResult("stale", reason=f"{device} changed since the plan ({e.message})")
                return WriteResult("failed", reason=e.message)
            last, error = e.message, e
        # Wait first: after a timeout the platform may still be committing the request, and
        # a read that comes too early would see nothing and cause a duplicate.
        await asyncio.sleep(_backoff(attempt, error))
        own = await find_own(platform, device_id, desc, live_only=False)
        if own is not None:
            return WriteResult("done", own.id, already=True)
    return WriteResult("failed", reason=f"gave up after {WRITE_ATTEMPTS} attempts: {last}")


async def _status_write(
    platform: Platform, *, deployment_id: str, want: str, what: str, call: Callable[[], Awaitable[Any]]
) -> WriteResult:
    """deploy/archive: send, and on any error read the deployment back before re-sending."""
    last = ""
    error: PlatformError | None = None
    for attempt in range(WRITE_ATTEMPTS):
        try:
            await _write(platform, call, what)
            return WriteResult("done", deployment_id)
        except PlatformError as e:
            last, error = e.message, e
            retry = _retryable(e)
        try:
            d = await hard_read(platform, lambda: platform.sdk.deployments.retrieve(deployment_id), what=what)
        except PlatformError as e:
            return WriteResult("failed", deployment_id, reason=e.message)
        if d.target_status == want or (want == "deployed" and d.activity_status == "deployed"):
            return WriteResult("done", deployment_id, already=True)
        if not retry:
            if want == "deployed" and d.target_status == "archived":
                return WriteResult("stale", deployment_id, reason=last)
            return WriteResult("failed", deployment_id, reason=last)
        await asyncio.sleep(_backoff(attempt, error))
    return WriteResult("failed", deployment_id, reason=f"gave up after {WRITE_ATTEMPTS} attempts: {last}")


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
