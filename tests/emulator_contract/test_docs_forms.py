"""Every documented query form, against the emulator over raw HTTP (and the SDK where it has a
say). Each test names the page of Miru's Platform API docs (docs.mirurobotics.com, "Developers >
Platform API") or the everglades spec operation it follows."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.harness import Harness, example_fleet, items

pytestmark = pytest.mark.anyio

# Every list endpoint and its `id` filter ("`id` is a common filter amongst all list endpoints").
LISTS = ("devices", "deployments", "releases", "groups", "config_types", "config_schemas", "config_instances")


async def _fleet(emu: Harness) -> None:
    await emu.seed(example_fleet(6, offline=()))


async def _ids(http: httpx.AsyncClient, path: str, query: str = "") -> list[str]:
    r = await http.get(f"{path}?limit=100{query}")
    assert r.status_code == 200, r.text
    return [row["id"] for row in r.json()["data"]]


# --- Filtering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LISTS)
async def test_filtering_pipe_separated_values(emu: Harness, path: str) -> None:
    """Filtering page, "Multi-value filters": `<filter_name>=<value_1>|<value_2>`."""
    await _fleet(emu)
    async with emu.http() as http:
        every = await _ids(http, f"/{path}")
        assert len(every) >= 2
        two = sorted(every[:2])
        assert sorted(await _ids(http, f"/{path}", f"&id={two[0]}|{two[1]}")) == two


@pytest.mark.parametrize("path", LISTS)
async def test_filtering_comma_and_repeated_keys(emu: Harness, path: str) -> None:
    """Everglades spec, every `*_search_*` parameter: `style: form, explode: false` (commas), and
    repeated keys, which clients that explode arrays send."""
    await _fleet(emu)
    async with emu.http() as http:
        two = sorted((await _ids(http, f"/{path}"))[:2])
        assert sorted(await _ids(http, f"/{path}", f"&id={two[0]},{two[1]}")) == two
        assert sorted(await _ids(http, f"/{path}", f"&id={two[0]}&id={two[1]}")) == two


async def test_filtering_pipe_on_an_enum_filter(emu: Harness) -> None:
    """Filtering page, multi-value filters, on listDeployments' `target_status` enum filter."""
    await _fleet(emu)
    async with emu.http() as http:
        deployed = await _ids(http, "/deployments", "&target_status=deployed")
        assert deployed
        assert await _ids(http, "/deployments", "&target_status=staged|deployed") == deployed
        bad = await http.get("/deployments?target_status=staged|nope")
        assert bad.status_code == 400 and bad.json()["error"]["params"]["param"] == "target_status"


async def test_filtering_combines_filters_with_and(emu: Harness) -> None:
    """Filtering page, "Combining filters": `id=a|b&name=Robot A` matches both criteria."""
    await _fleet(emu)
    async with emu.http() as http:
        r = (await http.get("/devices?limit=100")).json()["data"]
        a, b = r[0], r[1]
        assert await _ids(http, "/devices", f"&id={a['id']}|{b['id']}&name={b['name']}") == [b["id"]]


async def test_filtering_through_the_sdk(emu: Harness) -> None:
    """listDevices through the official SDK (which sends arrays as comma lists)."""
    await _fleet(emu)
    sdk = emu.sdk()
    every = [d["id"] for d in items(await sdk.devices.list(limit=100))]
    page = await sdk.devices.list(id=every[:3], limit=100)
    assert sorted(d["id"] for d in items(page)) == sorted(every[:3])


# --- Expansions --------------------------------------------------------------------------------


async def _a_deployment(http: httpx.AsyncClient) -> str:
    return (await _ids(http, "/deployments"))[0]


async def test_expansions_repeated_expand_keys(emu: Harness) -> None:
    """Expansions page, "Multiple expansions": `expand=device&expand=release`."""
    await _fleet(emu)
    async with emu.http() as http:
        dpl = await _a_deployment(http)
        body = (await http.get(f"/deployments/{dpl}?expand=device&expand=release")).json()
        assert body["device"]["object"] == "device" and body["release"]["object"] == "release"
        assert "config_instances" not in body


async def test_expansions_bracket_form(emu: Harness) -> None:
    """Expansions page: `expand[]=device&expand[]=content` (the form the page's examples use)."""
    await _fleet(emu)
    async with emu.http() as http:
        dpl = await _a_deployment(http)
        body = (await http.get(f"/deployments/{dpl}?expand[]=device&expand[]=config_instances")).json()
        assert body["device"]["object"] == "device"
        assert body["config_instances"][0]["object"] == "config_instance"


async def test_expansions_nested_expand_the_parent_too(emu: Harness) -> None:
    """Expansions page, "Nested expansions": dot notation; the parent field is expanded too."""
    await _fleet(emu)
    async with emu.http() as http:
        dpl = await _a_deployment(http)
        body = (await http.get(f"/deployments/{dpl}?expand=release.config_schemas")).json()
        schemas = body["release"]["config_schemas"]
        assert schemas and all(s["object"] == "config_schema" for s in schemas)
        assert "config_type" not in schemas[0]


async def test_expansions_nest_four_levels_and_no_deeper(emu: Harness) -> None:
    """Expansions page: "`expand[]=field1.field2.field3.field4` is the maximum depth"."""
    await _fleet(emu)
    async with emu.http() as http:
        dpl = await _a_deployment(http)
        four = "device.current_deployment.release.config_schemas"
        body = (await http.get(f"/deployments/{dpl}?expand[]={four}")).json()
        assert (
            body["device"]["current_deployment"]["release"]["config_schemas"][0]["object"] == "config_schema"
        )
        five = (await http.get(f"/deployments/{dpl}?expand={four}.config_type")).json()["error"]
        assert five["params"] == {"param": "expand", "max_depth": 4}


async def test_expansions_unknown_nested_field_is_a_400(emu: Harness) -> None:
    """Everglades spec, ReleaseExpansion: a release expands only `config_schemas`."""
    await _fleet(emu)
    async with emu.http() as http:
        dpl = await _a_deployment(http)
        r = await http.get(f"/deployments/{dpl}?expand=release.device")
        assert r.status_code == 400
        assert r.json()["error"]["params"]["allowed"] == ["config_schemas"]


async def test_expansions_in_lists_apply_to_every_item(emu: Harness) -> None:
    """Expansions page, "List expansions": no `data.` prefix; `expand[]=total_count` counts."""
    await _fleet(emu)
    async with emu.http() as http:
        body = (await http.get("/config_instances?limit=2&expand[]=content&expand[]=total_count")).json()
        assert len(body["data"]) == 2 and all("content" in row for row in body["data"])
        assert body["total_count"] >= 2
        nested = (await http.get("/devices?limit=100&expand=current_release.config_schemas")).json()
        releases = [d["current_release"] for d in nested["data"] if d["current_release"] is not None]
        assert len(releases) >= 6 and all(r["config_schemas"] for r in releases)


# --- Sorting -----------------------------------------------------------------------------------


async def _groups_in_two_seconds(emu: Harness) -> None:
    """Six groups: three created at t, three at t+1 (the manual clock stands still between)."""
    await emu.seed({"groups": [{"name": f"g{i}"} for i in range(3)]})
    await emu.tick(1)
    await emu.seed({"groups": [{"name": f"g{i}"} for i in range(3, 6)]})


async def test_sorting_direction_defaults_to_descending(emu: Harness) -> None:
    """Sorting page, "Order by": "The direction is optional and defaults to descending"."""
    await _groups_in_two_seconds(emu)
    async with emu.http() as http:
        rows = (await http.get("/groups?order_by=created_at")).json()["data"]
        assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows), reverse=True)
        assert rows[0]["name"] in {"g3", "g4", "g5"}
        assert await _ids(http, "/groups", "&order_by=name") == await _ids(
            http, "/groups", "&order_by=name:desc"
        )


async def test_sorting_ties_break_by_id_ascending(emu: Harness) -> None:
    """Sorting page, "Deterministic sorting": `created_at:desc` is `created_at:desc,id:asc`,
    whatever the direction of the last key (platform switch `sort_ties: id_asc`)."""
    assert (await emu.admin.post("/_emulator/platform", json={"sort_ties": "id_asc"})).status_code == 200
    await _groups_in_two_seconds(emu)
    async with emu.http() as http:
        rows = (await http.get("/groups?order_by=created_at:desc")).json()["data"]
        newer, older = rows[:3], rows[3:]
        assert [r["id"] for r in newer] == sorted(r["id"] for r in newer)
        assert [r["id"] for r in older] == sorted(r["id"] for r in older)
        assert newer[0]["created_at"] > older[0]["created_at"]
        explicit = await _ids(http, "/groups", "&order_by=created_at:desc,id:asc")
        assert explicit == [r["id"] for r in rows]


async def test_sorting_with_id_first_adds_no_tie_break(emu: Harness) -> None:
    """Sorting page: `id:asc,created_at:desc` stays as written (id already makes it deterministic)."""
    await _groups_in_two_seconds(emu)
    async with emu.http() as http:
        ids = await _ids(http, "/groups", "&order_by=id:desc,created_at:desc")
        assert ids == sorted(ids, reverse=True)


# --- Scopes ------------------------------------------------------------------------------------


async def _key(emu: Harness, key: str, *scopes: str) -> None:
    r = await emu.admin.post("/_emulator/api_keys", json={"key": key, "name": key, "scopes": list(scopes)})
    assert r.status_code == 200, r.text


async def test_scopes_write_does_not_include_read(emu: Harness) -> None:
    """Authorization page: "The write scope does not include read access"."""
    await _key(emu, "groups-writer", "groups:write")
    async with emu.http(key="groups-writer") as http:
        assert (await http.post("/groups", json={"name": "new"})).status_code == 200
        r = await http.get("/groups")
        assert r.status_code == 403
        assert r.json()["error"]["params"] == {"scope": "groups:read", "missing_scopes": ["groups:read"]}


async def test_scopes_ping_needs_only_devices_read(emu: Harness) -> None:
    """Everglades spec, pingDevice: `devices:read` (Authorization page: read = get, list, ping)."""
    await _fleet(emu)
    await _key(emu, "device-reader", "devices:read")
    async with emu.http(key="device-reader") as http:
        device = (await _ids(http, "/devices"))[0]
        r = await http.post(f"/devices/{device}/ping", json={"timeout_nanos": 1_000_000})
        assert r.status_code == 200, r.text
        assert (await http.patch(f"/devices/{device}", json={"name": "x"})).status_code == 403


async def test_scopes_of_deployment_operations(emu: Harness) -> None:
    """Everglades spec: createDeployment needs `deployments:write` plus `deployments:stage` when
    staging (or `:deploy` when deploying); deployDeployment `deployments:deploy`;
    archiveDeployment `deployments:archive`."""
    await _fleet(emu)
    async with emu.http() as rw:
        rels = {r["version"]: r["id"] for r in (await rw.get("/releases?limit=100")).json()["data"]}
        device = (await _ids(rw, "/devices"))[0]
        schemas = (await rw.get(f"/releases/{rels['v1.4.2']}?expand=config_schemas")).json()["config_schemas"]
        motion = next(s["id"] for s in schemas if s["config_type_name"] == "Motion Control")
        loc = next(s["id"] for s in schemas if s["config_type_name"] == "Localization")
        instances = []
        for schema_id, fmt, data in (
            (
                motion,
                "json",
                json.dumps(
                    {"max_speed": 1, "max_accel": 1, "safety": {"estop_timeout_ms": 100, "lidar_zones": []}}
                ),
            ),
            (loc, "yaml", "map: m\nparticle_count: 500\nupdate_rate_hz: 10\n"),
        ):
            r = await rw.post(
                "/config_instances",
                json={"config_schema_id": schema_id, "content": {"format": fmt, "data": data}},
            )
            instances.append(r.json()["id"])
    body: dict[str, Any] = {
        "target_status": "staged",
        "description": "scopes",
        "device_id": device,
        "release_id": rels["v1.4.2"],
        "config_instance_ids": instances,
    }
    await _key(emu, "writer-only", "deployments:write")
    await _key(emu, "stager-key", "deployments:write", "deployments:stage")
    await _key(emu, "deployer", "deployments:deploy")
    await _key(emu, "archiver-key", "deployments:archive")
    await _key(emu, "manager-key", "deployments:manage")
    async with emu.http(key="writer-only") as http:
        r = await http.post("/deployments", json=body)
        assert r.status_code == 403 and r.json()["error"]["params"]["scope"] == "deployments:stage"
    async with emu.http(key="stager-key") as http:
        staged = (await http.post("/deployments", json=body)).json()["id"]
        assert (await http.post(f"/deployments/{staged}/deploy")).status_code == 403
    async with emu.http(key="archiver-key") as http:
        assert (await http.post(f"/deployments/{staged}/deploy")).status_code == 403
    async with emu.http(key="deployer") as http:
        assert (await http.get(f"/deployments/{staged}")).status_code == 403
        r = await http.post(f"/deployments/{staged}/deploy")
        assert r.status_code == 200 and r.json()["target_status"] == "deployed"
    async with emu.http(key="manager-key") as http:
        staged_again = await http.post(
            "/deployments", json={**body, "release_id": rels["v1.4.1"], "config_instance_ids": []}
        )
        assert staged_again.status_code != 403
        assert (await http.get("/deployments")).status_code == 200


async def test_scopes_of_the_built_in_keys(emu: Harness) -> None:
    """Authorization page, applied to the emulator's keys: read-write = every scope, read-only =
    every read scope (so it reads everything and writes nothing)."""
    await _fleet(emu)
    async with emu.http(key="emulator-local-ro") as ro:
        for path in LISTS:
            assert (await ro.get(f"/{path}")).status_code == 200, path
        r = await ro.post("/groups", json={"name": "x"})
        assert r.status_code == 403 and r.json()["error"]["params"]["scope"] == "groups:write"
        assert (await ro.get("/principal")).json()["name"] == "Emulator read-only key"
    async with emu.http() as rw:
        assert (await rw.post("/groups", json={"name": "x"})).status_code == 200
        assert (await rw.post("/provisioning_tokens", json={})).status_code == 200


async def test_scopes_keys_from_the_seed(emu: Harness) -> None:
    """Authorization page, "Scopes are selected when creating an API key": a seed's `api_keys`."""
    await emu.seed({"api_keys": [{"key": "ci-reader-key", "name": "CI reader", "scopes": ["releases:read"]}]})
    async with emu.http(key="ci-reader-key") as http:
        assert (await http.get("/releases")).status_code == 200
        assert (await http.get("/devices")).status_code == 403
        assert (await http.get("/principal")).json()["name"] == "CI reader"
    listed = (await emu.admin.get("/_emulator/api_keys")).json()["keys"]
    assert listed == [{"name": "CI reader", "scopes": ["releases:read"]}]  # never the key itself
    bad = await emu.admin.post("/_emulator/api_keys", json={"key": "another-key", "scopes": ["devices:fly"]})
    assert bad.status_code == 400 and "devices:fly" in bad.json()["error"]["message"]


async def test_sorting_ties_by_default_follow_the_last_key(emu: Harness) -> None:
    """The emulator's default (`sort_ties: id_last_direction`, docs/emulator.md): same-second
    rows of `created_at:desc` come newest first, because ids are time-ordered."""
    switches = {"sort_ties": "id_last_direction", "ids": "time_ordered"}
    assert (await emu.admin.post("/_emulator/platform", json=switches)).status_code == 200
    await _groups_in_two_seconds(emu)
    async with emu.http() as http:
        rows = (await http.get("/groups?order_by=created_at:desc")).json()["data"]
    assert [r["name"] for r in rows] == ["g5", "g4", "g3", "g2", "g1", "g0"]
