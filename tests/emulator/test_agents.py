"""Simulated agents driven by the emulator clock: delay, fail, retry, slow, offline queueing,
and the device events they emit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.conftest import Fleet
from tests.harness import as_dict

pytestmark = pytest.mark.anyio


async def _patch(fleet: Fleet, device: str, **motion: Any) -> str:
    d = await fleet.sdk.deployments.create(
        device_id=fleet.devices[device],
        release_id=fleet.releases["v1.4.1"],
        config_instance_ids=await fleet.instances(**motion),
        description="t",
        target_status="deployed",
    )
    return d.id


async def _status(fleet: Fleet, deployment_id: str) -> str:
    return str((await fleet.deployment(deployment_id))["status"])


async def test_queued_becomes_deployed_after_the_agent_delay(fleet: Fleet) -> None:
    await fleet.emu.patch_device("amr-east-01", agent={"delay": 5})
    dpl = await _patch(fleet, "amr-east-01", max_speed=1.1)
    assert await _status(fleet, dpl) == "queued"
    await fleet.emu.tick(4.9)
    assert await _status(fleet, dpl) == "queued"
    await fleet.emu.tick(0.1)
    got = await fleet.deployment(dpl)
    assert got["status"] == "deployed"
    assert got["deployed_at"] == "2026-01-01T00:00:05Z"


async def test_fail_keeps_the_previous_deployment(fleet: Fleet) -> None:
    previous = await fleet.target("amr-east-01")
    await fleet.emu.patch_device("amr-east-01", agent={"behaviour": "fail"})
    dpl = await _patch(fleet, "amr-east-01", max_speed=1.1)
    assert await fleet.target("amr-east-01") == dpl
    await fleet.emu.tick(1)
    got = await fleet.deployment(dpl)
    assert (got["status"], got["error_status"], got["activity_status"]) == ("failed", "failed", "archived")
    assert previous is not None
    assert (await fleet.deployment(previous))["status"] == "deployed"
    assert await fleet.target("amr-east-01") == previous  # the token is the live one again
    dev = as_dict(
        await fleet.sdk.devices.retrieve(fleet.devices["amr-east-01"], expand=["current_deployment"])
    )
    assert dev["current_deployment"]["id"] == previous


async def test_retry_keeps_retrying_until_the_agent_recovers(fleet: Fleet) -> None:
    await fleet.emu.patch_device("amr-east-01", agent={"behaviour": "retry"})
    dpl = await _patch(fleet, "amr-east-01", max_speed=1.1)
    await fleet.emu.tick(60)
    got = await fleet.deployment(dpl)
    assert (got["status"], got["activity_status"]) == ("retrying", "queued")
    await fleet.emu.patch_device("amr-east-01", agent={"behaviour": "ok"})
    await fleet.emu.tick(1)
    assert await _status(fleet, dpl) == "deployed"
    assert (await fleet.deployment(dpl))["error_status"] == "none"


async def test_slow_takes_ten_times_the_delay(fleet: Fleet) -> None:
    await fleet.emu.patch_device("amr-east-01", agent={"behaviour": "slow", "delay": 2})
    dpl = await _patch(fleet, "amr-east-01", max_speed=1.1)
    await fleet.emu.tick(19)
    assert await _status(fleet, dpl) == "queued"
    await fleet.emu.tick(1)
    assert await _status(fleet, dpl) == "deployed"


async def test_offline_device_queues_until_online(fleet: Fleet) -> None:
    dpl = await _patch(fleet, "amr-east-07", max_speed=1.1)  # offline in the example fleet
    await fleet.emu.tick(3600)
    assert await _status(fleet, dpl) == "queued"
    await fleet.emu.patch_device("amr-east-07", status="online")
    await fleet.emu.tick(0.5)
    assert await _status(fleet, dpl) == "queued"
    await fleet.emu.tick(0.5)
    assert await _status(fleet, dpl) == "deployed"


async def test_device_going_offline_before_the_delay_queues(fleet: Fleet) -> None:
    dpl = await _patch(fleet, "amr-east-01", max_speed=1.1)
    await fleet.emu.patch_device("amr-east-01", status="offline")
    await fleet.emu.tick(5)
    assert await _status(fleet, dpl) == "queued"
    dev = as_dict(await fleet.sdk.devices.retrieve(fleet.devices["amr-east-01"]))
    assert dev["status"] == "offline" and dev["last_disconnected_at"] is not None


async def test_a_newer_target_supersedes_one_still_queued(fleet: Fleet) -> None:
    first = await _patch(fleet, "amr-east-07", max_speed=1.1)
    second = await _patch(fleet, "amr-east-07", max_speed=1.2)
    assert await _status(fleet, first) == "archived"
    await fleet.emu.patch_device("amr-east-07", status="online")
    await fleet.emu.tick(1)
    assert await _status(fleet, second) == "deployed"


async def test_transitions_emit_deployed_and_removed_events(fleet: Fleet) -> None:
    old = await fleet.target("amr-east-01")
    dpl = await _patch(fleet, "amr-east-01", max_speed=1.1)
    await fleet.emu.tick(5)
    conn = fleet.emu.app.state.store.conn
    rows = conn.execute(
        "SELECT id, type, data FROM events WHERE device_id = ? ORDER BY id", (fleet.devices["amr-east-01"],)
    ).fetchall()
    assert [r["type"] for r in rows] == ["deployment.deployed", "deployment.removed"]
    assert dpl in rows[0]["data"] and str(old) in rows[1]["data"]
    assert rows[0]["id"] < rows[1]["id"]


async def test_clock_is_manual_and_shared_by_apps_over_one_file(fleet: Fleet) -> None:
    from reconciler.emulator.app import create_app
    from tests.harness import Harness

    await fleet.emu.tick(30)
    other = Harness(db=fleet.emu.db, app=create_app(fleet.emu.db, clock="real"))  # mode fixed at creation
    try:
        clock = await other.clock()
        assert clock["mode"] == "manual" and clock["now"] == "2026-01-01T00:00:30Z"
        dpl = await _patch(fleet, "amr-east-02", max_speed=1.1)
        await other.tick(1)  # the second app advances the shared clock; the first sees it
        assert await _status(fleet, dpl) == "deployed"
    finally:
        other.close()


async def test_a_group_move_does_not_delay_a_queued_deployment(fleet: Fleet) -> None:
    await fleet.emu.patch_device("amr-east-01", agent={"delay": 4})
    dpl = await _patch(fleet, "amr-east-01", max_speed=1.1)
    await fleet.emu.tick(3)
    await fleet.emu.patch_device("amr-east-01", group="lab", status="online")
    await fleet.emu.tick(1)
    assert await _status(fleet, dpl) == "deployed"
