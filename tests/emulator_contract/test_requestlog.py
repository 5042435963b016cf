"""The request log: counts by route template, statuses (injected faults included), clearing,
and that the API key never lands in it."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.emulator_contract.conftest import RW_KEY
from tests.harness import Harness

pytestmark = pytest.mark.anyio

SEED = {
    "groups": [{"name": "fleet"}],
    "devices": [{"name": f"amr-{i:02d}", "group": "fleet", "status": "inactive"} for i in range(3)],
}


async def test_counts_by_route_and_status(emu: Harness, http: httpx.AsyncClient) -> None:
    await emu.seed(SEED)
    assert (await http.delete("/_emulator/requests")).status_code == 200
    devices = (await http.get("/beta/devices")).json()["data"]
    for d in devices[:2]:
        assert (await http.get(f"/beta/devices/{d['id']}")).status_code == 200
    assert (await http.get("/beta/devices/dvc_missing")).status_code == 404
    assert (await http.get("/beta/devices", params={"limit": 1})).status_code == 200
    assert (await http.get("/beta/devices", headers={"Miru-Version": "1999-01-01.nope"})).status_code == 400

    log = (await http.get("/_emulator/requests")).json()
    assert log["total"] == 6
    assert log["by_route"] == {"GET /beta/devices": 3, "GET /beta/devices/{device_id}": 3}
    assert log["by_status"] == {"200": 4, "404": 1, "400": 1}
    first = log["requests"][0]
    assert set(first) == {"id", "method", "route", "path", "status", "at"}
    assert (first["method"], first["route"], first["path"], first["status"]) == (
        "GET",
        "/beta/devices",
        "/beta/devices",
        200,
    )
    assert first["at"].startswith("2026-01-01T00:00:00")  # the manual clock, not wall time
    ids = [r["id"] for r in log["requests"]]
    assert ids == sorted(ids)
    assert [r["path"] for r in log["requests"]][4] == "/beta/devices"  # no query string kept
    newest = (await http.get("/_emulator/requests", params={"limit": 2})).json()
    assert newest["total"] == 6 and newest["by_route"] == log["by_route"]
    assert newest["requests"] == log["requests"][-2:]
    assert (await http.get("/_emulator/requests", params={"limit": "many"})).status_code == 400


async def test_the_key_is_never_logged(emu: Harness, http: httpx.AsyncClient) -> None:
    secret = "k-very-secret-value-123"
    await http.get("/beta/devices", headers={"X-API-Key": secret})  # 401, logged without the key
    await http.get("/beta/devices")
    raw = (await http.get("/_emulator/requests")).text
    assert secret not in raw
    assert RW_KEY not in raw
    statuses = [r["status"] for r in json.loads(raw)["requests"]]
    assert statuses[-2:] == [401, 200]


async def test_injected_faults_and_admin_calls_are_logged(emu: Harness, http: httpx.AsyncClient) -> None:
    await http.delete("/_emulator/requests")
    await http.put("/_emulator/faults", json={"rules": [{"path": "/beta/groups", "status": 503}]})
    assert (await http.get("/beta/groups")).status_code == 503
    log = (await http.get("/_emulator/requests")).json()
    assert log["by_route"] == {"PUT /_emulator/faults": 1, "GET /beta/groups": 1}
    assert log["requests"][-1]["status"] == 503
    only_beta = (await http.get("/_emulator/requests", params={"path": "/beta"})).json()
    assert only_beta["by_route"] == {"GET /beta/groups": 1}


async def test_delete_clears_and_unmatched_paths_use_the_path(emu: Harness, http: httpx.AsyncClient) -> None:
    await http.get("/beta/no/such/route")
    cleared = (await http.delete("/_emulator/requests")).json()
    assert cleared["cleared"] >= 1
    assert (await http.get("/_emulator/requests")).json() == {
        "total": 0,
        "by_route": {},
        "by_status": {},
        "requests": [],
    }
    await http.get("/beta/no/such/route")
    log = (await http.get("/_emulator/requests")).json()
    assert log["by_route"] == {"GET /beta/no/such/route": 1}
