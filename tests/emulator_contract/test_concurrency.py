"""The `parent_id` token under real concurrency: 20 SDK clients create a deployment for one
device with the same `parent_id` at once, in process and through a real uvicorn server on
127.0.0.1 (20 connections in flight): exactly one 200 and nineteen 409 parent_mismatch."""

from __future__ import annotations

import asyncio
import json

import httpx
import miru_platform_sdk as sdk
import pytest

from tests.emulator_contract.conftest import RW_KEY, VERSION
from tests.harness import Harness, as_dict, example_configs, example_fleet, items

pytestmark = pytest.mark.anyio


async def test_20_concurrent_creates_one_200_nineteen_409(
    emu: Harness, base_transport: tuple[str, httpx.AsyncBaseTransport]
) -> None:
    await emu.seed(example_fleet())
    url, transport = base_transport
    async with httpx.AsyncClient(transport=transport, base_url=url) as http:
        client = sdk.AsyncMiru(
            api_key=RW_KEY, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0, http_client=http
        )
        device = items(await client.devices.list(name=["amr-east-01"], expand=["current_deployment"]))[0]
        parent = device["current_deployment"]["id"]
        release = items(await client.releases.list(version=["v1.4.1"], expand=["config_schemas"]))[0]
        configs = example_configs()
        configs["motion-control"]["max_speed"] = 1.2
        slugs = {t["id"]: t["slug"] for t in items(await client.config_types.list())}
        ids = []
        for schema in release["config_schemas"]:
            value = configs[slugs[schema["config_type_id"]]]
            data = value if isinstance(value, str) else json.dumps(value)  # JSON is YAML too
            created = await client.config_instances.create(
                config_schema_id=schema["id"], content={"format": schema["instance_format"], "data": data}
            )
            ids.append(created.id)

        async def create() -> tuple[int, str]:
            try:
                d = await client.deployments.create(
                    device_id=device["id"],
                    release_id=release["id"],
                    config_instance_ids=ids,
                    description="race",
                    target_status="deployed",
                    parent_id=parent,
                )
            except sdk.APIStatusError as e:
                return e.status_code, e.body["error"]["code"]  # type: ignore[index]
            return 200, d.id

        results = await asyncio.gather(*(create() for _ in range(20)))
        assert sorted(status for status, _ in results) == [200] + [409] * 19
        assert {code for status, code in results if status == 409} == {"parent_mismatch"}
        winner = next(ident for status, ident in results if status == 200)
        after = as_dict(await client.devices.retrieve(device["id"], expand=["current_deployment"]))
        assert after["current_deployment"]["id"] == winner
        assert after["current_deployment"]["parent_id"] == parent
        listed = await client.deployments.list(device_id=[device["id"]], expand=["total_count"])
        assert listed.total_count == 2  # the seeded deployment and the single winner
