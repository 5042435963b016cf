"""The admin API and create_app options: reset, device changes, clock modes, custom keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.emulator.app import create_app
from tests.emulator.conftest import Fleet
from tests.harness import Harness, as_dict, example_fleet, items

pytestmark = pytest.mark.anyio


async def test_reset_empties_the_platform_and_rewinds_the_clock(fleet: Fleet) -> None:
    await fleet.emu.tick(100)
    await fleet.emu.reset()
    assert items(await fleet.sdk.devices.list()) == []
    assert (await fleet.emu.clock())["now"] == "2026-01-01T00:00:00Z"
    await fleet.emu.seed(example_fleet(3, spare=False))
    assert len(items(await fleet.sdk.devices.list())) == 3


async def test_patch_device_moves_groups_and_sets_the_agent(fleet: Fleet) -> None:
    groups = {g["name"]: g["id"] for g in items(await fleet.sdk.groups.list(limit=100))}
    state = await fleet.emu.patch_device("amr-east-01", group="lab", agent={"behaviour": "slow", "delay": 3})
    assert state["group_id"] == groups["lab"]
    assert state["agent"] == {"behaviour": "slow", "delay": 3.0}
    by_id = await fleet.emu.patch_device(fleet.devices["amr-east-01"], group_id=None, status="offline")
    assert (by_id["group_id"], by_id["status"]) == (None, "offline")
    dev = as_dict(await fleet.sdk.devices.retrieve(fleet.devices["amr-east-01"]))
    assert dev["status"] == "offline" and dev["group_id"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"status": "sleeping"},
        {"agent": {"behaviour": "explode"}},
        {"agent": {"delay": -1}},
        {"colour": "red"},
    ],
)
async def test_patch_device_rejects_bad_fields(fleet: Fleet, body: dict[str, object]) -> None:
    r = await fleet.emu.admin.patch("/_emulator/devices/amr-east-01", json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"


async def test_patch_unknown_device_is_404(emu: Harness) -> None:
    r = await emu.admin.patch("/_emulator/devices/nope", json={"status": "online"})
    assert r.status_code == 404


async def test_tick_rejects_negative_seconds(emu: Harness) -> None:
    r = await emu.admin.post("/_emulator/tick", json={"seconds": -1})
    assert r.status_code == 400
    assert (await emu.clock())["now"] == "2026-01-01T00:00:00Z"


def test_real_clock_follows_wall_time_plus_ticks(tmp_path: Path) -> None:
    from reconciler.emulator import clock

    app = create_app(str(tmp_path / "r.db"), clock="real")
    conn = app.state.store.conn
    assert clock.mode(conn) == "real"
    before = clock.now(conn)
    clock.tick(conn, 3600)
    assert clock.now(conn) - before >= 3600
    conn.close()


def test_bad_options_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="clock"):
        create_app(str(tmp_path / "a.db"), clock="fast")
    with pytest.raises(ValueError, match="unknown role 'admin'"):
        create_app(str(tmp_path / "b.db"), api_keys={"k": "admin"})


async def test_custom_api_keys_replace_the_builtins(tmp_path: Path) -> None:
    h = Harness(
        db=":memory:", app=create_app(":memory:", api_keys={"mine": "rw", "reader": "ro"}, clock="manual")
    )
    try:
        assert (await h.sdk(key="mine").devices.list()).has_more is False
        async with h.http(key="emulator-local-rw") as http:
            assert (await http.get("/devices")).status_code == 401
        async with h.http(key="reader") as http:
            assert (await http.post("/groups", json={"name": "g"})).status_code == 403
    finally:
        h.close()


async def test_reset_also_clears_faults_the_request_log_and_enrollment_access(fleet: Fleet) -> None:
    """A clean emulator after reset: fault rules, their RNG state, the request log and the
    seed's enrollment tokens are gone too, not only the platform data."""
    emu = fleet.emu
    await emu.seed({"enrollment": {"client_id": "c-1", "tokens": ["seed-token"]}})
    await emu.faults([{"path": "/beta/groups", "status": 503, "rate": 0.5}], seed=7)
    async with emu.http() as http:
        for _ in range(4):
            await http.get("/groups")
    assert (await emu.requests())["total"] > 0
    assert (await emu.admin.get("/_emulator/faults")).json()["draws"] == 4
    await emu.reset()
    assert (await emu.requests()) == {"total": 0, "by_route": {}, "by_status": {}, "requests": []}
    assert (await emu.admin.get("/_emulator/faults")).json() == {
        "seed": 0,
        "draws": 0,
        "latency_skipped": 0.0,
        "rules": [],
    }
    async with emu.http() as http:
        assert [(await http.get("/groups")).status_code for _ in range(4)] == [200] * 4
    # The seed's enrollment client and token are forgotten: the defaults answer again.
    old = await emu.admin.get(
        "/v2/clients/c-1/devices/x/deployments", headers={"Authorization": "Bearer seed-token"}
    )
    assert old.status_code == 401
    default = await emu.admin.get(
        "/v2/clients/aa7cf840-9ca9-46a3-9778-9015d6580d50/devices/x/deployments",
        headers={"Authorization": "Bearer emulator-enrollment-token"},
    )
    assert default.status_code == 404 and default.json()["error"]["message"] == "Device not found"
    log = await emu.requests()
    assert log["by_route"] == {
        "GET /_emulator/faults": 1,
        "GET /beta/groups": 4,
        "GET /v2/clients/{client_id}/devices/{device_id}/deployments": 2,
    }
