"""Paging a large fleet in every order, and concurrent writers racing on one parent_id."""

from __future__ import annotations

import asyncio

import miru_platform_sdk as sdk_mod
import pytest

from tests.emulator.conftest import Fleet
from tests.harness import Harness, example_fleet, items

pytestmark = pytest.mark.anyio

ORDERS = ["id:asc", "id:desc", "created_at:asc", "created_at:desc", "status:asc", "status:desc"]


@pytest.mark.parametrize("order", ORDERS)
async def test_paging_1234_devices_returns_each_exactly_once(emu: Harness, order: str) -> None:
    seed = example_fleet(1234, offline=[f"amr-east-{i:04d}" for i in range(1, 400, 7)])
    await emu.seed(seed)
    sdk = emu.sdk()
    seen: list[str] = []
    offset = 0
    while True:
        page = await sdk.devices.list(limit=100, offset=offset, order_by=[order])  # type: ignore[list-item]
        seen.extend(d["id"] for d in items(page))
        offset += 100
        if not page.has_more:
            break
    assert len(seen) == 1235 == len(set(seen))  # 1,234 + amr-spare-01
    if order.startswith("status"):
        by_id = {d["id"]: d["status"] for d in items(await sdk.devices.list(limit=100, status=["offline"]))}
        assert by_id  # the offline ones exist and are grouped together
        positions = [i for i, x in enumerate(seen) if x in by_id]
        assert positions == list(range(positions[0], positions[0] + len(positions)))


async def test_paging_is_stable_for_equal_sort_keys(emu: Harness) -> None:
    # Every seeded device has the same created_at under the manual clock: the id tie-break
    # makes two passes agree page by page.
    await emu.seed(example_fleet(250))
    sdk = emu.sdk()
    first = [
        d["id"]
        for off in range(0, 300, 100)
        for d in items(await sdk.devices.list(limit=100, offset=off, order_by=["created_at:desc"]))
    ]
    second = [
        d["id"]
        for off in range(0, 300, 50)
        for d in items(await sdk.devices.list(limit=50, offset=off, order_by=["created_at:desc"]))
    ]
    assert first == second and len(set(first)) == 251


async def test_20_concurrent_creates_with_one_parent_id_one_wins(fleet: Fleet) -> None:
    parent = await fleet.target("amr-east-01")
    ids = await fleet.instances(max_speed=1.2)
    sdks = [fleet.emu.sdk(max_retries=0) for _ in range(20)]

    async def create(sdk: sdk_mod.AsyncMiru) -> int:
        try:
            await sdk.deployments.create(
                device_id=fleet.devices["amr-east-01"],
                release_id=fleet.releases["v1.4.1"],
                config_instance_ids=ids,
                description="race",
                target_status="deployed",
                parent_id=parent,
            )
        except sdk_mod.APIStatusError as e:
            return e.status_code
        return 200

    results = await asyncio.gather(*(create(s) for s in sdks))
    assert sorted(results) == [200] + [409] * 19
    created = items(await fleet.sdk.deployments.list(device_id=[fleet.devices["amr-east-01"]], limit=100))
    assert len(created) == 2  # the seeded deployment and the single winner
