"""Every GET operation with every `expand` value the spec lists (all at once), and every list
with every `order_by` value, checked against the spec's response schemas."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.emulator_contract.conftest import HEADERS
from tests.emulator_contract.spec import Spec, ValidatingTransport
from tests.emulator_contract.test_contract import SEED
from tests.harness import Harness

pytestmark = pytest.mark.anyio

PATH_IDS = {  # path parameter -> the collection it comes from
    "config_instance_id": "config_instances",
    "config_schema_id": "config_schemas",
    "config_type_id": "config_types",
    "deployment_id": "deployments",
    "device_id": "devices",
    "git_commit_id": "git_commits",
    "group_id": "groups",
    "release_id": "releases",
}


def enum_values(spec: Spec, op_path: str, name: str) -> list[str]:
    """The enum of an array query parameter (`expand`, `order_by`) of GET `op_path`."""
    params = spec.raw["paths"][op_path]["get"].get("parameters", [])
    for p in params:
        if "$ref" in p:
            p = spec.raw["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        if p.get("name") == name:
            items = p["schema"].get("items", {})
            if "$ref" in items:
                items = spec.raw["components"]["schemas"][items["$ref"].rsplit("/", 1)[1]]
            return list(items.get("enum", []))
    return []


async def build_state(http: httpx.AsyncClient) -> dict[str, str]:
    """Deployments in every shape worth expanding (live, staged then drifted, with a parent),
    a commit, a child group; returns one id per collection (the most interesting one)."""
    devices = (await http.get("/_emulator/devices/amr-00")).json()
    releases = {r["version"]: r["id"] for r in (await http.get("/beta/releases")).json()["data"]}
    schema = (await http.get("/beta/config_schemas")).json()["data"][0]

    async def instance(speed: float) -> str:
        content = {"format": "json", "data": json.dumps({"max_speed": speed})}
        r = await http.post(
            "/beta/config_instances", json={"config_schema_id": schema["id"], "content": content}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["id"])

    staged = await http.post(
        "/beta/deployments",
        json={
            "device_id": devices["id"],
            "release_id": releases["r2"],
            "config_instance_ids": [await instance(2.0)],
            "target_status": "staged",
            "description": "staged",
        },
    )
    assert staged.status_code == 200, staged.text
    patch = await http.post(
        "/beta/deployments",
        json={
            "device_id": devices["id"],
            "release_id": releases["r1"],
            "config_instance_ids": [await instance(0.7)],
            "target_status": "deployed",
            "description": "patch",
            "parent_id": devices["target_deployment_id"],
        },
    )
    assert patch.status_code == 200, patch.text
    await http.post("/_emulator/tick", json={"seconds": 3})
    drifted = (await http.get(f"/beta/deployments/{staged.json()['id']}")).json()
    assert drifted["activity_status"] == "drifted"
    commit = await http.post(
        "/beta/git_commits", json={"sha": "b" * 40, "message": "m", "origin": "https://github.com/acme/fleet"}
    )
    assert commit.status_code == 200, commit.text
    groups = (await http.get("/beta/groups", params={"name": "east"})).json()["data"]
    ids = {
        "config_instances": (await http.get("/beta/config_instances")).json()["data"][0]["id"],
        "config_schemas": schema["id"],
        "config_types": (await http.get("/beta/config_types")).json()["data"][0]["id"],
        "deployments": staged.json()["id"],
        "devices": devices["id"],
        "git_commits": commit.json()["id"],
        "groups": groups[0]["id"],  # a child group: `parent` expands to an object
        "releases": releases["r1"],
    }
    return ids


async def test_every_expansion_and_order(emu: Harness, spec: Spec) -> None:
    await emu.seed(SEED)
    transport = ValidatingTransport(httpx.ASGITransport(app=emu.app), spec)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator.local", headers=HEADERS
    ) as http:
        ids = await build_state(http)
        calls = 0
        for op in spec.operations:
            if op.method != "get" or op.binary:
                continue
            path = op.template
            for param, collection in PATH_IDS.items():
                path = path.replace("{" + param + "}", ids[collection])
            expansions = enum_values(spec, op.template, "expand")
            for expand in ([], expansions):
                params = tuple(("expand", e) for e in expand)
                r = await http.get(f"/beta{path}", params=params)
                assert r.status_code == 200, f"{op.operation_id} expand={expand}: {r.text}"
                calls += 1
                for e in expand:
                    if e != "total_count" and "data" not in r.json():
                        assert e in r.json(), f"{op.operation_id}: expand={e} missing"
            for order in enum_values(spec, op.template, "order_by"):
                r = await http.get(f"/beta{path}", params={"order_by": order, "limit": 100})
                assert r.status_code == 200, f"{op.operation_id} order_by={order}: {r.text}"
                calls += 1
    assert calls > 40
    assert transport.problems == []
