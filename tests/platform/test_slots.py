"""Request slots: a freed slot goes to the most urgent waiting request, in arrival order within a
priority; a waiter cancelled while it waits (or just as it was handed a slot) loses no slot. And
a plan's reads go out in that order: the schemas the manifests resolve against, and the devices'
pages, before the deployments' pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import miru_platform_sdk
import pytest

from reconciler.platform.client import Platform
from reconciler.platform.live import read_live_state
from reconciler.platform.slots import Priority, Slots
from tests.harness import RW_KEY, VERSION, Harness
from tests.plan.projects import served_emulator
from tests.plan.test_scale import seed_fleet


async def _order(waiters: list[tuple[str, Priority]], size: int = 1) -> list[str]:
    """Who got a slot, in order, when `waiters` queue (in list order) behind `size` busy slots."""
    slots, got = Slots(size), []
    held = [asyncio.ensure_future(slots._acquire(Priority.FIRST)) for _ in range(size)]
    await asyncio.gather(*held)

    async def wait(name: str, priority: Priority) -> None:
        async with slots.take(priority):
            got.append(name)
            await asyncio.sleep(0)

    tasks = []
    for name, priority in waiters:
        tasks.append(asyncio.ensure_future(wait(name, priority)))
        await asyncio.sleep(0)  # queued in this order
    for _ in range(size):
        slots._release()
    await asyncio.gather(*tasks)
    return got


def test_a_freed_slot_goes_to_the_most_urgent_request_first_come_first_served() -> None:
    waiters = [
        ("page-a", Priority.PAGES),
        ("deployments", Priority.LAST),
        ("schemas", Priority.FIRST),
        ("page-b", Priority.PAGES),
        ("record", Priority.FIRST),
    ]
    assert asyncio.run(_order(waiters)) == ["schemas", "record", "page-a", "page-b", "deployments"]
    assert asyncio.run(_order(waiters, size=2)) == ["schemas", "record", "page-a", "page-b", "deployments"]


def test_no_more_than_size_in_flight_and_every_slot_comes_back() -> None:
    async def run() -> tuple[int, int]:
        slots, inside, most = Slots(3), 0, 0

        async def one(p: Priority) -> None:
            nonlocal inside, most
            async with slots.take(p):
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0)
                inside -= 1

        await asyncio.gather(*(one(Priority(i % 3)) for i in range(50)))
        return most, slots._free

    assert asyncio.run(run()) == (3, 3)


def test_a_cancelled_waiter_loses_no_slot() -> None:
    async def run() -> int:
        slots = Slots(1)
        await slots._acquire(Priority.FIRST)
        waiting = asyncio.ensure_future(slots._acquire(Priority.PAGES))
        handed = asyncio.ensure_future(slots._acquire(Priority.FIRST))
        await asyncio.sleep(0)
        waiting.cancel()  # cancelled while it waits: out of the queue
        slots._release()  # the slot goes to `handed`...
        handed.cancel()  # ...cancelled before it ran: the slot is passed on, not lost
        for t in (waiting, handed):
            with pytest.raises(asyncio.CancelledError):
                await t
        async with slots:  # free again
            pass
        return slots._free

    assert asyncio.run(run()) == 1


def test_the_reads_something_waits_on_go_before_the_deployments_pages(emu: Harness) -> None:
    """450 devices on a served emulator (loopback), one request in flight: the schemas the
    manifests resolve against, and every devices page (resolution needs every device), are
    read before the deployments' pages after the first, though those were asked for earlier."""
    seed_fleet(emu.db, 450, 1)
    order: list[str] = []

    async def hook(request: httpx.Request) -> None:
        order.append(request.url.path.removeprefix("/beta/"))

    async def read(url: str) -> int:
        async with httpx.AsyncClient(event_hooks={"request": [hook]}) as http:
            sdk = miru_platform_sdk.AsyncMiru(
                api_key=RW_KEY, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0, http_client=http
            )
            platform = Platform(sdk=sdk, target=url, semaphore=Slots(1), http=http)
            live = await read_live_state(platform, release_versions=["v1.4.1"])
            return len(live.deployments)

    with served_emulator(Path(emu.db)) as url:
        assert asyncio.run(read(url)) == 450
    deployments = [i for i, path in enumerate(order) if path == "deployments"]
    assert len(deployments) == 5, order  # pages of 100
    # The first page says how many there are; the other four wait for what resolution needs.
    assert order.index("config_schemas") < deployments[1], order
    assert max(i for i, path in enumerate(order) if path == "devices") < deployments[1], order
