"""The platform switches (docs/emulator.md, "Platform switches"), each at the HTTP level: the
readings of what Miru's docs leave open, set by the admin API, a seed or the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.emulator import platform
from reconciler.emulator.app import create_app
from tests.emulator.conftest import Fleet
from tests.harness import Harness, example_fleet, items, make_harness

pytestmark = pytest.mark.anyio


async def _switch(emu: Harness, **switches: str) -> dict[str, str]:
    r = await emu.admin.post("/_emulator/platform", json=switches)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _fresh_device(fleet: Fleet, name: str = "fresh-01") -> str:
    """An online device with no current release."""
    await fleet.emu.seed({"devices": [{"name": name, "status": "online"}]})
    state = await fleet.emu.device_state(name)
    return str(state["id"])


async def test_defaults_are_the_historical_behaviour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(platform.ENV, raising=False)  # the suite may run under another reading
    emu = make_harness(str(tmp_path / "emulator.db"))
    body = (await emu.admin.get("/_emulator/platform")).json()
    emu.close()
    assert {k: body[k] for k in platform.CHOICES} == {
        "first_deploy": "deployed",
        "current_switch": "create",
        "ids": "time_ordered",
        "sort_ties": "id_last_direction",
        "timestamps": "auto",
        "git_commit_sha": "repeatable",
    }
    assert body["choices"]["first_deploy"] == ["deployed", "staged_only"]


async def test_bad_switches_are_refused(emu: Harness) -> None:
    r = await emu.admin.post("/_emulator/platform", json={"first_deploy": "sometimes"})
    assert r.status_code == 400 and "first_deploy" in r.json()["error"]["message"]
    r = await emu.admin.post("/_emulator/platform", json={"warp": "on"})
    assert r.status_code == 400 and "warp" in r.json()["error"]["message"]
    r = await emu.admin.post(
        "/_emulator/platform", json={"ids": "random"}, headers={"X-API-Key": "emulator-local-ro"}
    )
    assert r.status_code == 403


async def test_first_deploy_deployed_lets_a_new_device_take_a_deployed_first(fleet: Fleet) -> None:
    device = await _fresh_device(fleet)
    dpl = await fleet.sdk.deployments.create(
        target_status="deployed",
        description="first",
        device_id=device,
        release_id=fleet.releases["v1.4.1"],
        config_instance_ids=await fleet.instances(),
    )
    assert dpl.target_status == "deployed"


async def test_first_deploy_staged_only_refuses_deployed_then_stage_and_deploy_work(fleet: Fleet) -> None:
    await _switch(fleet.emu, first_deploy="staged_only")
    device = await _fresh_device(fleet)
    body = {
        "description": "first",
        "device_id": device,
        "release_id": fleet.releases["v1.4.1"],
        "config_instance_ids": await fleet.instances(),
    }
    async with fleet.emu.http() as http:
        r = await http.post("/deployments", json={**body, "target_status": "deployed"})
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "release_not_current"
        assert r.json()["error"]["params"]["current_release_id"] is None
        staged = await http.post("/deployments", json={**body, "target_status": "staged"})
        assert staged.status_code == 200, staged.text
        deployed = await http.post(f"/deployments/{staged.json()['id']}/deploy")
        assert deployed.json()["target_status"] == "deployed"
    # A device with a current release is not affected: a config patch is still created deployed.
    patched = await fleet.sdk.deployments.create(
        target_status="deployed",
        description="patch",
        device_id=fleet.devices["amr-east-01"],
        release_id=fleet.releases["v1.4.1"],
        config_instance_ids=await fleet.instances(max_speed=1.1),
    )
    assert patched.target_status == "deployed"


async def _upgrade_staged_and_deployed(fleet: Fleet, name: str) -> str:
    staged = await fleet.sdk.deployments.create(
        target_status="staged",
        description="upgrade",
        device_id=fleet.devices[name],
        release_id=fleet.releases["v1.4.2"],
        config_instance_ids=await fleet.instances("v1.4.2"),
    )
    await fleet.sdk.deployments.deploy(staged.id)
    return staged.id


async def _current(fleet: Fleet, name: str) -> tuple[str | None, str | None]:
    async with fleet.emu.http() as http:
        body = (
            await http.get(f"/devices/{fleet.devices[name]}?expand=current_deployment&expand=current_release")
        ).json()
    dpl, rel = body["current_deployment"], body["current_release"]
    return (dpl["id"] if dpl else None), (rel["version"] if rel else None)


async def test_current_switch_create_reports_the_new_target_at_once(fleet: Fleet) -> None:
    new = await _upgrade_staged_and_deployed(fleet, "amr-east-01")
    assert await _current(fleet, "amr-east-01") == (new, "v1.4.2")


async def test_current_switch_confirm_reports_the_live_deployment_until_the_agent_confirms(
    fleet: Fleet,
) -> None:
    await _switch(fleet.emu, current_switch="confirm")
    old, _ = await _current(fleet, "amr-east-01")
    new = await _upgrade_staged_and_deployed(fleet, "amr-east-01")
    assert await _current(fleet, "amr-east-01") == (old, "v1.4.1")
    on_old = await fleet.sdk.devices.list(current_release_id=[fleet.releases["v1.4.1"]], limit=100)
    assert fleet.devices["amr-east-01"] in {d["id"] for d in items(on_old)}
    async with fleet.emu.http() as http:
        # parent_id is checked against the target deployment (the spec's target_deployment_id),
        # even while the device still reports the confirmed one.
        r = await http.post(
            "/deployments",
            json={
                "target_status": "staged",
                "description": "again",
                "device_id": fleet.devices["amr-east-01"],
                "release_id": fleet.releases["v1.4.2"],
                "config_instance_ids": await fleet.instances("v1.4.2", max_speed=1.2),
                "parent_id": old,
            },
        )
        assert r.status_code == 409 and r.json()["error"]["params"]["current_deployment_id"] == new
    await fleet.emu.tick(1)
    assert await _current(fleet, "amr-east-01") == (new, "v1.4.2")
    on_new = await fleet.sdk.devices.list(current_release_id=[fleet.releases["v1.4.2"]], limit=100)
    assert [d["id"] for d in items(on_new)] == [fleet.devices["amr-east-01"]]


async def test_current_switch_confirm_offline_device_keeps_its_live_release(fleet: Fleet) -> None:
    await _switch(fleet.emu, current_switch="confirm")
    await _upgrade_staged_and_deployed(fleet, "amr-east-07")  # offline in the example fleet
    await fleet.emu.tick(60)
    assert (await _current(fleet, "amr-east-07"))[1] == "v1.4.1"


async def test_ids_time_ordered_sort_by_creation(emu: Harness) -> None:
    await _switch(emu, ids="time_ordered")
    await emu.seed({"groups": [{"name": f"g{i:02d}"} for i in range(20)]})
    async with emu.http() as http:
        rows = (await http.get("/groups?limit=100&order_by=id:asc")).json()["data"]
    assert [r["name"] for r in rows] == [f"g{i:02d}" for i in range(20)]


async def test_ids_random_carry_no_order(emu: Harness) -> None:
    await _switch(emu, ids="random")
    await emu.seed({"groups": [{"name": f"g{i:02d}"} for i in range(20)]})
    async with emu.http() as http:
        rows = (await http.get("/groups?limit=100&order_by=id:asc")).json()["data"]
        made = (await http.post("/groups", json={"name": "api-made"})).json()["id"]
    assert all(re.fullmatch(r"grp_[0-9a-f]{24}", r["id"]) for r in rows)
    assert re.fullmatch(r"grp_[0-9a-f]{24}", made)
    # 20 random ids in creation order: a 1 in 20! chance of this failing by luck.
    assert [r["name"] for r in rows] != [f"g{i:02d}" for i in range(20)]


@pytest.mark.parametrize(
    ("precision", "pattern"),
    [
        ("auto", r"2026-01-01T00:00:00\.500000Z"),
        ("seconds", r"2026-01-01T00:00:00Z"),
        ("milliseconds", r"2026-01-01T00:00:00\.500Z"),
        ("microseconds", r"2026-01-01T00:00:00\.500000Z"),
    ],
)
async def test_timestamp_precision(emu: Harness, precision: str, pattern: str) -> None:
    await _switch(emu, timestamps=precision)
    await emu.tick(0.5)
    async with emu.http() as http:
        body = (await http.post("/groups", json={"name": "g"})).json()
    assert re.fullmatch(pattern, body["created_at"]), body["created_at"]


async def test_timestamps_whole_seconds_at_fixed_precision(emu: Harness) -> None:
    await _switch(emu, timestamps="milliseconds")
    async with emu.http() as http:
        body = (await http.post("/groups", json={"name": "g"})).json()
    assert body["created_at"] == "2026-01-01T00:00:00.000Z"


async def test_the_seed_sets_switches_and_the_environment_overrides_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text("platform: {first_deploy: staged_only, ids: random}\ngroups: [{name: fleet}]\n")
    app = create_app(str(tmp_path / "a.db"), seed=seed_file, clock="manual")
    conn = app.state.store.conn
    assert platform.load(conn).first_deploy == "staged_only"
    assert re.fullmatch(r"grp_[0-9a-f]{24}", conn.execute("SELECT id FROM groups").fetchone()[0])
    conn.close()
    monkeypatch.setenv(platform.ENV, '{"first_deploy": "deployed", "timestamps": "seconds"}')
    app = create_app(str(tmp_path / "b.db"), seed=seed_file, clock="manual")
    settings = platform.load(app.state.store.conn)
    assert (settings.first_deploy, settings.ids, settings.timestamps) == ("deployed", "random", "seconds")
    app.state.store.conn.close()


async def test_the_environment_sets_a_new_db_without_a_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(platform.ENV, '{"current_switch": "confirm"}')
    app = create_app(str(tmp_path / "a.db"), clock="manual")
    assert platform.load(app.state.store.conn).current_switch == "confirm"
    app.state.store.conn.close()
    monkeypatch.setenv(platform.ENV, '{"current_switch": "later"}')
    with pytest.raises(ValueError, match=platform.ENV):
        create_app(str(tmp_path / "b.db"), clock="manual")


async def test_a_reset_keeps_the_switches(emu: Harness) -> None:
    await _switch(emu, ids="random")
    await emu.seed(example_fleet(3))
    await emu.reset()
    assert (await emu.admin.get("/_emulator/platform")).json()["ids"] == "random"
