"""API conventions: auth, versions, error bodies, paging, filters, order_by, expand."""

from __future__ import annotations

import miru_platform_sdk as sdk_mod
import pytest

from tests.emulator.conftest import Fleet
from tests.harness import RO_KEY, Harness, example_fleet, items

pytestmark = pytest.mark.anyio


async def test_missing_or_unknown_key_is_401(emu: Harness) -> None:
    for key in (None, "not-a-key"):
        async with emu.http(key=key) as http:
            r = await http.get("/devices")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
    with pytest.raises(sdk_mod.AuthenticationError):
        await emu.sdk(key="wrong").devices.list()


async def test_read_only_key_reads_but_cannot_write(fleet: Fleet) -> None:
    ro = fleet.emu.sdk(key=RO_KEY)
    assert len(items(await ro.devices.list())) == 10
    with pytest.raises(sdk_mod.PermissionDeniedError) as info:
        await ro.deployments.create(
            device_id=fleet.devices["amr-east-01"],
            release_id=fleet.releases["v1.4.1"],
            config_instance_ids=[],
            description="x",
            target_status="deployed",
        )
    assert info.value.body["error"]["params"]["scope"] == "deployments:write"  # type: ignore[index]
    with pytest.raises(sdk_mod.PermissionDeniedError) as info:
        await ro.groups.create(name="nope")
    assert info.value.body["error"]["params"]["scope"] == "groups:write"  # type: ignore[index]


async def test_admin_api_needs_a_rw_key(emu: Harness) -> None:
    r = await emu.admin.post("/_emulator/tick", json={"seconds": 1}, headers={"X-API-Key": RO_KEY})
    assert r.status_code == 403
    r = await emu.admin.get("/_emulator/clock", headers={"X-API-Key": ""})
    assert r.status_code == 401


async def test_everglades_is_accepted(emu: Harness) -> None:
    async with emu.http(version="2026-08-17.everglades") as http:
        assert (await http.get("/principal")).status_code == 200


@pytest.mark.parametrize("version", ["2026-03-09.tetons", "2026-05-06.rainier"])
async def test_older_versions_are_refused_not_answered_in_everglades_shapes(
    emu: Harness, version: str
) -> None:
    """The emulator answers only in everglades shapes (docs/emulator.md, known differences)."""
    async with emu.http(version=version) as http:
        r = await http.get("/principal")
    assert r.status_code == 400
    assert "everglades" in r.json()["error"]["message"]
    assert r.json()["error"]["params"]["supported"] == ["2026-08-17.everglades"]


@pytest.mark.parametrize("version", [None, "2025-01-01.nope", ""])
async def test_missing_or_unknown_version_is_400(emu: Harness, version: str | None) -> None:
    async with emu.http(version=version) as http:
        r = await http.get("/principal")
    assert r.status_code == 400
    err = r.json()["error"]
    assert set(err) == {"code", "message", "params"}
    assert "2026-08-17.everglades" in err["params"]["supported"]


async def test_unknown_route_and_method_answer_json_errors(emu: Harness) -> None:
    async with emu.http() as http:
        r = await http.get("/no_such_thing")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = await http.delete("/devices")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def test_unknown_object_is_404_with_error_body(emu: Harness) -> None:
    with pytest.raises(sdk_mod.NotFoundError) as info:
        await emu.sdk().devices.retrieve("dvc_missing")
    assert info.value.body["error"]["params"]["id"] == "dvc_missing"  # type: ignore[index]


async def test_create_returns_200(emu: Harness) -> None:
    async with emu.http() as http:
        r = await http.post("/groups", json={"name": "fleet"})
    assert r.status_code == 200 and r.json()["object"] == "group"


async def test_paging_defaults_and_clamps(fleet: Fleet) -> None:
    async with fleet.emu.http() as http:
        page = (await http.get("/devices")).json()
        assert (page["limit"], page["offset"], page["has_more"], len(page["data"])) == (10, 0, True, 10)
        assert "total_count" not in page
        page = (await http.get("/devices", params={"limit": 1000})).json()
        assert (page["limit"], page["has_more"], len(page["data"])) == (100, False, 18)
        page = (await http.get("/devices", params={"limit": 0, "offset": -5})).json()
        assert (page["limit"], page["offset"], len(page["data"])) == (1, 0, 1)
        page = (await http.get("/devices", params={"offset": 500, "expand": "total_count"})).json()
        assert (page["data"], page["has_more"], page["total_count"]) == ([], False, 18)
        page = (await http.get("/devices", params={"offset": 10, "limit": 8})).json()
        assert (len(page["data"]), page["has_more"]) == (8, False)
        assert (await http.get("/devices", params={"limit": "ten"})).status_code == 400


async def test_comma_list_filters(fleet: Fleet) -> None:
    east1, west1 = fleet.devices["amr-east-01"], fleet.devices["amr-west-01"]
    async with fleet.emu.http() as http:
        page = (await http.get("/devices", params={"id": f"{east1},{west1}"})).json()
        assert sorted(d["id"] for d in page["data"]) == sorted([east1, west1])
        page = (await http.get("/devices", params={"status": "offline,inactive", "limit": 100})).json()
        assert sorted(d["name"] for d in page["data"]) == ["amr-east-07", "amr-spare-01"]
    groups = {g["name"]: g["id"] for g in items(await fleet.sdk.groups.list(limit=100))}
    lab = items(await fleet.sdk.devices.list(group_id=[groups["lab"]], limit=100))
    assert sorted(d["name"] for d in lab) == ["lab-arm-01", "lab-arm-02", "lab-arm-03"]
    on_v141 = await fleet.sdk.devices.list(
        current_release_id=[fleet.releases["v1.4.1"]], expand=["total_count"]
    )
    assert on_v141.total_count == 17


async def test_order_by_and_unknown_order_is_400(fleet: Fleet) -> None:
    asc = [d["id"] for d in items(await fleet.sdk.devices.list(limit=100, order_by=["id:asc"]))]
    desc = [d["id"] for d in items(await fleet.sdk.devices.list(limit=100, order_by=["id:desc"]))]
    assert asc == sorted(asc) and desc == asc[::-1]
    by_status = items(await fleet.sdk.devices.list(limit=100, order_by=["status:asc"]))
    statuses = [d["status"] for d in by_status]
    assert statuses == sorted(statuses)
    async with fleet.emu.http() as http:
        r = await http.get("/devices", params={"order_by": "name:asc"})
    assert r.status_code == 400 and r.json()["error"]["params"]["param"] == "order_by"


async def test_expand_on_devices_and_unknown_expand_is_400(fleet: Fleet) -> None:
    page = items(
        await fleet.sdk.devices.list(
            name=["amr-east-01"], expand=["group", "current_release", "current_deployment"]
        )
    )
    dev = page[0]
    assert dev["group"]["name"] == "warehouse-east"
    assert dev["current_release"]["version"] == "v1.4.1"
    assert dev["current_deployment"]["device_id"] == dev["id"]
    async with fleet.emu.http() as http:
        r = await http.get("/devices", params={"expand": "bogus"})
        assert r.status_code == 400
        # Repeated keys work as well as comma lists.
        r = await http.get("/devices", params=[("expand", "group"), ("expand", "total_count")])
        assert r.status_code == 200 and r.json()["total_count"] == 18


async def test_principal_and_provisioning_token(emu: Harness) -> None:
    sdk = emu.sdk()
    me = await sdk.principal.self()
    assert me.object == "principal" and me.id
    token = await sdk.provisioning_tokens.create()
    assert token.token and token.expires_at.isoformat().startswith("2026-01-01T01:00:00")


async def test_ping_answers_by_device_status(fleet: Fleet) -> None:
    online = await fleet.sdk.devices.ping(fleet.devices["amr-east-01"], timeout_nanos=1_000_000_000)
    offline = await fleet.sdk.devices.ping(fleet.devices["amr-east-07"], timeout_nanos=1_000_000_000)
    assert (online.code, offline.code) == ("success", "timeout")


async def test_devices_create_rename_and_unique_names(emu: Harness) -> None:
    await emu.seed(example_fleet(3, spare=False))
    sdk = emu.sdk()
    dev = await sdk.devices.create(name="amr-x")
    assert (dev.status, dev.group_id, dev.agent_version) == ("inactive", None, None)
    with pytest.raises(sdk_mod.ConflictError):
        await sdk.devices.create(name="amr-x")
    renamed = await sdk.devices.update(dev.id, name="amr-y")
    assert renamed.name == "amr-y"


async def test_git_commits(emu: Harness) -> None:
    sdk = emu.sdk()
    commit = await sdk.git_commits.create(sha="a" * 40, message="m", origin="git@github.com:acme/robots.git")
    repo = (commit.repository_owner, commit.repository_name, commit.repository_type)
    assert repo == ("acme", "robots", "github")
    assert commit.commit_url == f"https://github.com/acme/robots/commit/{'a' * 40}"
    found = items(await sdk.git_commits.list(sha=["a" * 40]))
    assert [c["id"] for c in found] == [commit.id]
    release = await sdk.releases.create(version="v9", config_schema_ids=[], git_commit_ref={"sha": "a" * 40})
    assert release.git_commit_id == commit.id


async def test_unknown_enum_filter_values_are_400(emu: Harness) -> None:
    async with emu.http() as http:
        r = await http.get("/devices", params={"status": "online,sleeping"})
        assert r.status_code == 400 and r.json()["error"]["params"]["param"] == "status"
        r = await http.get("/deployments", params={"activity_status": "done"})
        assert r.status_code == 400
        assert (await http.get("/deployments", params={"error_status": "none,failed"})).status_code == 200
