"""Every error code the emulator answers: each is produced by a request below, with its status
and the params docs/emulator.md promises, and docs/emulator.md lists exactly the codes the
code can answer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import Fleet

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
# Codes of bugs and of Starlette's own errors: documented, but no request should produce them.
UNREACHABLE = {"internal_error", "http_error"}


def documented_codes() -> dict[str, int | None]:
    """The "Error codes" table of docs/emulator.md: code -> status (None for "other")."""
    text = (ROOT / "docs" / "emulator.md").read_text()
    section = text.split("### Error codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d{3}|other) \| `([a-z_]+)` \|", section, re.M)
    return {code: (int(status) if status != "other" else None) for status, code in rows}


def source_codes() -> set[str]:
    """Error codes the platform and admin API can answer, read from the emulator's source
    (the enrollment API and injected faults have their own, documented elsewhere)."""
    codes: set[str] = set()
    for path in (ROOT / "reconciler" / "emulator").rglob("*.py"):
        if path.name.startswith("enrollment") or path.name == "faults.py":
            continue
        text = path.read_text()
        codes |= set(
            re.findall(
                r"(?:code=|code: str = |ApiError\(\d{3}, |error_response\(\d{3}, "
                r'|\.get\(exc\.status_code, )"([a-z_]+)"',
                text,
            )
        )
        codes |= {code for _, code in re.findall(r'\b(\d{3}): "([a-z_]+)"', text)}  # status -> code maps
    return codes


def test_the_docs_list_exactly_the_codes_the_emulator_answers() -> None:
    documented = set(documented_codes())
    found = source_codes()
    assert len(found) > 20
    assert found - documented == set(), "codes missing from docs/emulator.md"
    assert documented - found == set(), "docs/emulator.md lists codes the emulator never answers"


async def _scenarios(fleet: Fleet, http: httpx.AsyncClient) -> list[tuple[httpx.Response, dict[str, Any]]]:
    """One request per code, with the params each must carry. Returns (response, expected params)."""
    dev, rel = fleet.devices["amr-east-01"], fleet.releases
    v141 = await fleet.instances()
    v142 = await fleet.instances("v1.4.2")
    target = await fleet.target("amr-east-01")

    def deployment(
        status: str, release: str, ids: list[str], device: str = dev, **extra: Any
    ) -> dict[str, Any]:
        return {
            "device_id": device,
            "release_id": rel[release],
            "config_instance_ids": ids,
            "target_status": status,
            "description": "codes",
            **extra,
        }

    out: list[tuple[httpx.Response, dict[str, Any]]] = []

    async def call(method: str, path: str, expect: dict[str, Any], **kw: Any) -> httpx.Response:
        r = await http.request(method, path, **kw)
        out.append((r, expect))
        return r

    await call("GET", "/devices", {"param": "order_by"}, params={"order_by": "shoe:asc"})
    async with fleet.emu.http(key=None) as anonymous:
        out.append((await anonymous.get("/devices"), {}))
    async with fleet.emu.http(key="emulator-local-ro") as read_only:
        out.append((await read_only.post("/groups", json={"name": "g"}), {"scope": "groups:write"}))
    await call("GET", "/devices/dvc_nope", {"id": "dvc_nope", "resource": "device"})
    await call("DELETE", f"/config_instances/{v141[0]}", {})
    await call("POST", "/devices", {"name": "amr-east-02"}, json={"name": "amr-east-02"})
    await call(
        "POST", "/config_types", {"slug": "motion-control"}, json={"name": "M", "slug": "motion-control"}
    )
    await call(
        "POST", "/releases", {"version": "v1.4.1"}, json={"version": "v1.4.1", "config_schema_ids": []}
    )
    await call(
        "POST",
        "/deployments",
        {"device_id": dev, "parent_id": "dpl_old", "current_deployment_id": target},
        json=deployment("deployed", "v1.4.1", v141, parent_id="dpl_old"),
    )
    staged = (await http.post("/deployments", json=deployment("staged", "v1.4.2", v142))).json()
    await http.post("/deployments", json=deployment("deployed", "v1.4.1", await fleet.instances(max_speed=2)))
    await call("POST", f"/deployments/{staged['id']}/deploy", {"deployment_id": staged["id"]})
    live = await fleet.target("amr-east-01")
    await call("POST", f"/deployments/{live}/deploy", {"deployment_id": live, "status": "queued"})
    await call(
        "POST",
        "/git_commits",
        {"field": "origin"},
        json={"sha": "a" * 40, "message": "m", "origin": "https://example.com/a/b"},
    )
    bad = {"max_speed": 9, "max_accel": 0.5, "safety": {"estop_timeout_ms": 200, "lidar_zones": []}}
    await call(
        "POST",
        "/config_instances",
        {"paths": ["$.max_speed"]},
        json={
            "config_schema_id": fleet.schemas[("v1.4.1", "motion-control")],
            "content": {"format": "json", "data": json.dumps(bad)},
        },
    )
    types = (await http.get("/config_types", params={"slug": "motion-control"})).json()["data"]
    await call("PATCH", f"/config_types/{types[0]['id']}", {"field": "slug"}, json={"slug": "motion"})
    groups = {g["name"]: g["id"] for g in (await http.get("/groups", params={"limit": 100})).json()["data"]}
    await call(
        "POST",
        f"/groups/{groups['fleet']}/move",
        {"group_id": groups["fleet"]},
        json={"parent_id": groups["warehouse-east"]},
    )
    parent = groups["lab"]
    for level in range(2, 13):  # lab is level 1: the docs allow 12 levels, counting the top one
        created = await http.post("/groups", json={"name": f"level-{level}", "parent_id": parent})
        assert created.status_code == 200, created.text
        parent = created.json()["id"]
    await call(
        "POST",
        "/groups",
        {"parent_id": parent, "max_depth": 12},
        json={"name": "level-13", "parent_id": parent},
    )
    await fleet.emu.patch_device("amr-east-03", status="archived")
    await call(
        "POST",
        "/deployments",
        {"device_id": fleet.devices["amr-east-03"]},
        json=deployment("deployed", "v1.4.1", v141, device=fleet.devices["amr-east-03"]),
    )
    await call(
        "POST",
        "/deployments",
        {"field": "config_instance_ids"},
        json=deployment("deployed", "v1.4.1", [*v141, v141[0]]),
    )
    await call(
        "POST",
        "/deployments",
        {"config_instance_id": "cfg_inst_nope"},
        json=deployment("deployed", "v1.4.1", [*v141, "cfg_inst_nope"]),
    )
    await call(
        "POST",
        "/deployments",
        {"config_instance_id": v142[0]},
        json=deployment("deployed", "v1.4.1", [v142[0], *v141[1:]]),
    )
    await call(
        "POST",
        "/deployments",
        {"slot": "motion-control/default"},
        json=deployment("deployed", "v1.4.1", [*v141, (await fleet.instances(max_speed=1.1))[0]]),
    )
    await call(
        "POST",
        "/deployments",
        {"missing_slots": ["motion-control/default"]},
        json=deployment("deployed", "v1.4.1", v141[1:]),
    )
    await call(
        "POST", "/deployments", {"release_id": rel["v1.4.2"]}, json=deployment("deployed", "v1.4.2", v142)
    )
    await call(
        "POST", "/deployments", {"release_id": rel["v1.4.1"]}, json=deployment("staged", "v1.4.1", v141)
    )
    bad_seed = {"groups": [{"name": "x", "parent": "nope"}]}
    out.append((await fleet.emu.admin.post("/_emulator/seed", json=bad_seed), {}))
    return out


async def test_every_documented_code_is_answered_with_its_status_and_params(fleet: Fleet) -> None:
    documented = documented_codes()
    async with fleet.emu.http() as http:
        results = await _scenarios(fleet, http)
    produced: set[str] = set()
    for response, params in results:
        error = response.json()["error"]
        where = f"{response.request.method} {response.request.url.path}: {error}"
        assert documented[error["code"]] == response.status_code, where
        for key, value in params.items():
            assert error["params"][key] == value, where
        produced.add(error["code"])
    assert produced == set(documented) - UNREACHABLE
