"""`GET /_emulator/devices/{id}/events`: seed 000's envelope, increasing ids, `after=` and `types=`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.emulator_contract.test_contract import SEED
from tests.harness import Harness

pytestmark = pytest.mark.anyio

DATA_FIELDS = {
    "deployment_id",
    "release_id",
    "status",
    "activity_status",
    "error_status",
    "target_status",
    "deployed_at",
}


async def patch_device_config(http: httpx.AsyncClient, device: dict[str, Any], max_speed: float) -> str:
    """A config patch on the device's current release: a new deployment, target deployed.
    `device` is the admin view (`GET /_emulator/devices/{name}`), which has the release."""
    schema = (await http.get("/beta/config_schemas")).json()["data"][0]
    inst = (
        await http.post(
            "/beta/config_instances",
            json={
                "config_schema_id": schema["id"],
                "content": {"format": "json", "data": json.dumps({"max_speed": max_speed})},
            },
        )
    ).json()
    created = await http.post(
        "/beta/deployments",
        json={
            "device_id": device["id"],
            "release_id": device["current_release_id"],
            "config_instance_ids": [inst["id"]],
            "target_status": "deployed",
            "description": "events test",
        },
    )
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


async def events(http: httpx.AsyncClient, device: str, **params: Any) -> dict[str, Any]:
    response = await http.get(f"/_emulator/devices/{device}/events", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_deployed_and_removed_events(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)
    device = (await http.get("/_emulator/devices/amr-00")).json()
    old = device["live_deployment_id"]
    assert old is not None
    before = (await events(http, "amr-00"))["data"]
    base = before[-1]["id"] if before else 0

    first = await patch_device_config(http, device, 1.1)
    assert (await events(http, "amr-00", after=base))["data"] == []  # queued: nothing yet
    await emu.tick(1)
    await emu.tick(1)
    second = await patch_device_config(http, device, 1.2)
    await emu.tick(5)

    got = (await events(http, device["id"], after=base))["data"]
    assert [(e["type"], e["data"]["deployment_id"]) for e in got] == [
        ("deployment.deployed", first),
        ("deployment.removed", old),
        ("deployment.deployed", second),
        ("deployment.removed", first),
    ]
    ids = [e["id"] for e in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for e in got:
        assert set(e) == {"object", "id", "type", "occurred_at", "data"}
        assert e["object"] == "event"
        assert set(e["data"]) == DATA_FIELDS
        assert e["occurred_at"].startswith("2026-01-01T00:00:0")  # emulator clock
    deployed = got[0]["data"]
    assert (
        deployed["status"],
        deployed["activity_status"],
        deployed["error_status"],
        deployed["target_status"],
    ) == ("deployed", "deployed", "none", "deployed")
    assert deployed["deployed_at"] == got[0]["occurred_at"]
    removed = got[1]["data"]
    assert (removed["activity_status"], removed["target_status"]) == ("archived", "archived")

    # after= resumes behind a given id; types= filters.
    assert [e["id"] for e in (await events(http, "amr-00", after=ids[1]))["data"]] == ids[2:]
    only_removed = (await events(http, "amr-00", after=base, types="deployment.removed"))["data"]
    assert [e["data"]["deployment_id"] for e in only_removed] == [old, first]
    both = (await events(http, "amr-00", after=base, types="deployment.deployed,deployment.removed"))["data"]
    assert [e["id"] for e in both] == ids
    # Reading again gives the same events (at-least-once: consumers dedupe by id).
    assert (await events(http, "amr-00", after=base))["data"] == got
    # Paging with limit.
    page = await events(http, "amr-00", after=base, limit=3)
    assert [e["id"] for e in page["data"]] == ids[:3] and page["has_more"] and page["next_after"] == ids[2]


async def test_other_devices_events_are_not_mixed_in(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)
    device = (await http.get("/_emulator/devices/amr-01")).json()
    base = max([0, *(e["id"] for e in (await events(http, "amr-02"))["data"])])
    await patch_device_config(http, device, 0.9)
    await emu.tick(3)
    assert (await events(http, "amr-02", after=base))["data"] == []
    assert len((await events(http, "amr-01", after=base))["data"]) == 2


async def test_event_query_errors(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)
    bad_type = await http.get("/_emulator/devices/amr-00/events", params={"types": "deployment.exploded"})
    assert bad_type.status_code == 400 and bad_type.json()["error"]["params"] == {"param": "types"}
    bad_after = await http.get("/_emulator/devices/amr-00/events", params={"after": "yesterday"})
    assert bad_after.status_code == 400
    missing = await http.get("/_emulator/devices/no-such-device/events")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
