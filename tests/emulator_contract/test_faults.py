"""Fault injection through `PUT /_emulator/faults`: status, rate (seeded), Retry-After,
times, latency under the manual clock, commit_then_fail, and that admin paths stay usable."""

from __future__ import annotations

from typing import Any

import httpx
import miru_platform_sdk as sdk
import pytest

from reconciler.emulator.faults import draw
from tests.emulator_contract.conftest import RW_KEY, VERSION
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio

SEED = {
    "groups": [{"name": "fleet"}],
    "devices": [{"name": f"amr-{i:02d}", "group": "fleet", "status": "inactive"} for i in range(3)],
}


async def put_faults(http: httpx.AsyncClient, rules: list[dict[str, Any]], seed: int = 42) -> dict[str, Any]:
    response = await http.put("/_emulator/faults", json={"rules": rules, "seed": seed})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "params"}
    assert body["error"]["code"] and body["error"]["message"]
    return body


async def test_status_and_retry_after(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)
    await put_faults(http, [{"method": "GET", "path": "/beta/devices*", "status": 503, "retry_after": 2}])
    response = await http.get("/beta/devices")
    body = assert_error_envelope(response, 503)
    assert response.headers["retry-after"] == "2"
    assert body["error"]["params"] == {"injected": True}
    # Other methods and paths are untouched.
    assert (await http.get("/beta/groups")).status_code == 200
    assert (await http.post("/beta/groups", json={"name": "lab"})).status_code == 200


async def test_sdk_sees_the_injected_status(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)
    await put_faults(http, [{"path": "/beta/devices", "status": 429, "retry_after": 1}])
    transport = httpx.ASGITransport(app=emu.app)
    client = sdk.AsyncMiru(
        api_key=RW_KEY,
        miru_version=VERSION,
        base_url="http://emulator.local/beta",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=transport),
    )
    with pytest.raises(sdk.RateLimitError) as caught:
        await client.devices.list()
    assert caught.value.response.headers["retry-after"] == "1"


async def test_times_limits_how_often_a_rule_fires(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)
    await put_faults(http, [{"method": "GET", "path": "/beta/devices", "status": 500, "times": 2}])
    statuses = [(await http.get("/beta/devices")).status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    state = (await http.get("/_emulator/faults")).json()
    assert state["rules"][0]["fired"] == 2
    assert state["rules"][0]["times"] == 2


async def test_rate_is_deterministic_with_the_seed(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)

    async def run(seed: int) -> list[int]:
        await put_faults(
            http, [{"method": "GET", "path": "/beta/devices", "status": 500, "rate": 0.3}], seed=seed
        )
        return [(await http.get("/beta/devices")).status_code for _ in range(60)]

    first = await run(42)
    again = await run(42)
    other = await run(7)
    assert first == again
    assert first != other
    failed = [i for i, s in enumerate(first) if s == 500]
    # Exactly the draws of the seeded sequence below the rate fail.
    assert failed == [i for i in range(60) if draw(42, i) < 0.3]
    assert 5 < len(failed) < 35
    assert set(first) == {200, 500}


async def test_rate_zero_never_fires_and_rate_one_always(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)
    await put_faults(http, [{"path": "/beta/devices", "status": 500, "rate": 0}])
    assert {(await http.get("/beta/devices")).status_code for _ in range(10)} == {200}
    await put_faults(http, [{"path": "/beta/devices", "status": 500, "rate": 1}])
    assert {(await http.get("/beta/devices")).status_code for _ in range(10)} == {500}
    state = await put_faults(http, [{"path": "/beta/devices", "status": 500, "rate": None, "latency": None}])
    assert (state["rules"][0]["rate"], state["rules"][0]["latency"]) == (1.0, 0.0)  # null = the default


async def test_commit_then_fail_leaves_the_write_in_place(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)
    await put_faults(http, [{"method": "POST", "path": "/beta/groups", "commit_then_fail": True, "times": 1}])
    response = await http.post("/beta/groups", json={"name": "written-anyway"})
    assert_error_envelope(response, 500)
    groups = (await http.get("/beta/groups", params={"name": "written-anyway"})).json()
    assert [g["name"] for g in groups["data"]] == ["written-anyway"]
    # The budget is spent: the next write answers normally.
    assert (await http.post("/beta/groups", json={"name": "second"})).status_code == 200


async def test_latency_is_recorded_not_slept_under_the_manual_clock(
    emu: Harness, http: httpx.AsyncClient
) -> None:
    await emu.seed(SEED)
    await put_faults(http, [{"path": "/beta/devices", "latency": 30}])
    response = await http.get("/beta/devices")
    assert response.status_code == 200
    assert response.headers["x-emulator-latency"] == "30"
    assert (await http.get("/_emulator/faults")).json()["latency_skipped"] == 30


async def test_admin_paths_are_never_faulted(emu: Harness, http: httpx.AsyncClient) -> None:
    await put_faults(http, [{"path": "*", "status": 500}])
    assert (await http.get("/_emulator/faults")).status_code == 200
    assert (await http.get("/beta/devices")).status_code == 500
    await put_faults(http, [])
    assert (await http.get("/beta/devices")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"rules": [{"path": "/beta/*", "status": 200}]},
        {"rules": [{"path": "/beta/*", "status": 500, "rate": 1.5}]},
        {"rules": [{"path": "/beta/*"}]},
        {"rules": [{"path": "/beta/*", "status": 500, "bogus": 1}]},
        {"rules": [{"path": "/beta/*", "status": 500, "times": -1}]},
        {"rules": "all of them"},
        {"seed": "x", "rules": []},
    ],
)
async def test_bad_rules_are_400_in_the_envelope(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert_error_envelope(await http.put("/_emulator/faults", json=body), 400)


async def test_faults_need_a_rw_key(http: httpx.AsyncClient) -> None:
    response = await http.put(
        "/_emulator/faults", json={"rules": []}, headers={"X-API-Key": "emulator-local-ro"}
    )
    assert_error_envelope(response, 403)
    assert_error_envelope(await http.get("/_emulator/faults", headers={"X-API-Key": ""}), 401)


async def test_faults_over_a_real_server(
    emu: Harness, base_transport: tuple[str, httpx.AsyncBaseTransport]
) -> None:
    """The same rule through the ASGI transport and through uvicorn on 127.0.0.1."""
    url, inner = base_transport
    async with httpx.AsyncClient(
        transport=inner, base_url=url, headers={"X-API-Key": RW_KEY, "Miru-Version": VERSION}
    ) as client:
        await put_faults(
            client, [{"method": "GET", "path": "/beta/devices", "status": 429, "retry_after": 3, "times": 1}]
        )
        first = await client.get("/beta/devices")
        assert_error_envelope(first, 429)
        assert first.headers["retry-after"] == "3"
        assert (await client.get("/beta/devices")).status_code == 200


async def test_rules_budget_and_log_are_shared_by_apps_on_one_db(emu: Harness) -> None:
    """Two app instances over one db file (as two processes would be): rules set through one
    apply to the other, a `times` budget is spent once across both, and both log to one log."""
    from reconciler.emulator.app import create_app

    other = create_app(emu.db)
    try:
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://emulator.local",
                headers={"X-API-Key": RW_KEY, "Miru-Version": VERSION},
            )
            for app in (emu.app, other)
        ]
        await clients[0].delete("/_emulator/requests")
        await put_faults(clients[0], [{"path": "/beta/groups", "status": 500, "times": 3}])
        statuses = [(await clients[i % 2].get("/beta/groups")).status_code for i in range(6)]
        assert statuses == [500, 500, 500, 200, 200, 200]
        assert (await clients[1].get("/_emulator/faults")).json()["rules"][0]["fired"] == 3
        log = (await clients[1].get("/_emulator/requests", params={"path": "/beta"})).json()
        assert log["by_route"] == {"GET /beta/groups": 6}
        for client in clients:
            await client.aclose()
    finally:
        other.state.store.conn.close()


async def test_commit_then_fail_on_a_deployment_create_is_the_lost_response_case(emu: Harness) -> None:
    """DESIGN's lost response: the create lands, the client sees a 500; resending it with the
    same `parent_id` is a 409, and the device's target is the deployment the client never saw."""
    await emu.seed(example_fleet(3, spare=False))
    async with emu.http() as beta:
        device = (
            await beta.get("/devices", params={"name": "amr-east-01", "expand": "current_deployment"})
        ).json()["data"][0]
        parent = device["current_deployment"]
        links = (await beta.get(f"/deployments/{parent['id']}", params={"expand": "config_instances"})).json()
        body = {
            "device_id": device["id"],
            "release_id": parent["release_id"],
            "description": "lost",
            "config_instance_ids": [i["id"] for i in links["config_instances"]],
            "target_status": "deployed",
            "parent_id": parent["id"],
        }
        await emu.faults(
            [{"method": "POST", "path": "/beta/deployments", "commit_then_fail": True, "times": 1}]
        )
        lost = await beta.post("/deployments", json=body)
        assert_error_envelope(lost, 500)
        assert lost.json()["error"]["message"] == "injected fault after the write was applied"
        again = await beta.post("/deployments", json=body)
        assert_error_envelope(again, 409)
        assert again.json()["error"]["code"] == "parent_mismatch"
        landed = again.json()["error"]["params"]["current_deployment_id"]
        assert landed != parent["id"]
        written = (await beta.get(f"/deployments/{landed}")).json()
        assert (written["description"], written["parent_id"], written["target_status"]) == (
            "lost",
            parent["id"],
            "deployed",
        )
        listed = (
            await beta.get("/deployments", params={"device_id": device["id"], "expand": "total_count"})
        ).json()
        assert listed["total_count"] == 2  # exactly one write landed
