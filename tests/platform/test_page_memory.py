"""A page's bytes are freed as soon as it is decoded: no reference cycle holds an answer until
the cyclic collector runs (httpx's response and its stream refer to each other). The bulk
lists' pages are frozen out of the collector's full passes as they are read, and each page
handed on as it arrives stays that page."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

from reconciler.platform import convert as CV
from reconciler.platform.client import connect
from reconciler.platform.paging import _read, listing, raw, read_all
from tests.harness import RW_KEY, Harness
from tests.plan.projects import served_emulator
from tests.plan.test_scale import seed_fleet


def test_pages_leave_no_cycles_and_bulk_pages_are_frozen(emu: Harness) -> None:
    seed_fleet(emu.db, 300, 1)

    async def read(url: str) -> tuple[int, int, int]:
        async with connect(f"{url}/beta", api_key=RW_KEY, concurrency=2) as platform:
            sdk = platform.sdk
            bulk = listing(sdk, "/devices", CV.device)
            small = raw(sdk.groups)
            params = {"limit": 100, "order_by": ["id:asc"]}
            await _read(platform, bulk, params, what="warm up")  # (first-time imports and caches)
            gc.unfreeze()  # (what the warm-up froze: the test runner's objects too)
            gc.collect()
            gc.disable()
            try:
                for offset in (0, 100, 200):
                    await _read(platform, bulk, {**params, "offset": offset}, what="reading devices")
                frozen = gc.get_freeze_count()
                gc.unfreeze()
                for _ in range(3):
                    await _read(platform, small, {"limit": 100}, what="reading groups")
                after_small = gc.get_freeze_count()
                return gc.collect(), frozen, after_small
            finally:
                gc.enable()

    with served_emulator(Path(emu.db)) as url:
        unreachable, frozen, after_small = asyncio.run(read(url))
    assert unreachable == 0  # nothing of six requests (through the product's client) was left to it
    assert frozen > 0  # the bulk pages were frozen as they came
    assert after_small == 0  # the small reads were not


def test_each_page_handed_on_is_its_own_list(emu: Harness) -> None:
    """`read_all`'s `on_page` gets every page once, with its offset, and a page kept for later
    (as a plan keeps the deployments that come before the manifests resolve) is still that
    page after the read: not the list the read goes on to fill."""
    seed_fleet(emu.db, 250, 1)
    pages: list[tuple[int, list[Any]]] = []

    async def read(url: str) -> int:
        async with connect(f"{url}/beta", api_key=RW_KEY, concurrency=2) as platform:
            fetch = listing(platform.sdk, "/devices", CV.device)
            items = await read_all(
                platform,
                fetch,
                what="reading devices",
                order_by=["id:asc"],
                on_page=lambda o, p: pages.append((o, p)),
            )
            return len(items)

    with served_emulator(Path(emu.db)) as url:
        assert asyncio.run(read(url)) == 250
    assert sorted((offset, len(page)) for offset, page in pages) == [(0, 100), (100, 100), (200, 50)]
    names = [d.name for _, page in sorted(pages, key=lambda x: x[0]) for d in page]
    assert len(set(names)) == 250
