"""Bad input is a 4xx in the error envelope, never a 500, and never leaves state behind that
breaks later requests (a NaN clock offset, an unprintable time, a NaN fault rate)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.emulator.conftest import Fleet
from tests.harness import MOTION_V1, Harness

pytestmark = pytest.mark.anyio


async def _still_healthy(emu: Harness) -> None:
    async with emu.http() as http:
        assert (await http.get("/devices")).status_code == 200
    assert (await emu.clock())["now"] == "2026-01-01T00:00:00Z"
    assert (await emu.admin.get("/_emulator/faults")).json()["rules"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_emulator/tick", '{"seconds": NaN}'),
        ("POST", "/_emulator/tick", '{"seconds": Infinity}'),
        ("POST", "/_emulator/tick", '{"seconds": 1e300}'),
        ("PUT", "/_emulator/faults", '{"rules": [{"status": 500, "rate": NaN}]}'),
        ("PATCH", "/_emulator/devices/amr-east-01", '{"agent": {"delay": 1e300}}'),
        ("PATCH", "/_emulator/devices/amr-east-01", '{"agent": {"delay": -Infinity}}'),
        ("POST", "/_emulator/seed", "just a scalar"),
    ],
)
async def test_admin_bad_numbers_and_bodies_are_400(fleet: Fleet, method: str, path: str, body: str) -> None:
    r = await fleet.emu.admin.request(method, path, content=body)
    assert r.status_code == 400, r.text
    assert set(r.json()["error"]) == {"code", "message", "params"}
    await _still_healthy(fleet.emu)


async def test_platform_body_with_nan_is_400(emu: Harness) -> None:
    async with emu.http() as http:
        r = await http.post("/devices/x/ping", content='{"timeout_nanos": NaN}')
    assert r.status_code == 400 and r.json()["error"]["message"] == "the request body is not valid JSON"


async def test_a_huge_offset_is_clamped_not_a_500(fleet: Fleet) -> None:
    async with fleet.emu.http() as http:
        r = await http.get("/devices", params={"offset": str(10**20)})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == [] and r.json()["offset"] == 2**62


async def test_tick_stops_before_the_year_9999(emu: Harness) -> None:
    r = await emu.admin.post("/_emulator/tick", json={"seconds": 7973.0 * 365 * 86400})
    assert r.status_code == 200 and r.json()["now"] == "9993-09-16T00:00:00Z"
    r = await emu.admin.post("/_emulator/tick", json={"seconds": 10 * 365 * 86400})
    assert r.status_code == 400 and "9999-01-01" in r.json()["error"]["message"]


async def test_yaml_seed_bodies_keep_dates_as_strings(fleet: Fleet) -> None:
    """Unquoted dates in a YAML seed POSTed to the admin API stay the text written, as in seed files."""
    seed = (
        "enrollments:\n  - {device: amr-east-01, id: e-1, status: success,\n"
        "     enrollment_date: 2026-01-29T09:00:00.000Z}\n"
    )
    r = await fleet.emu.admin.post("/_emulator/seed", content=seed)
    assert r.status_code == 200, r.text
    got = await fleet.emu.admin.get(
        "/v2/clients/aa7cf840-9ca9-46a3-9778-9015d6580d50/devices/amr-east-01/deployments/e-1",
        headers={"Authorization": "Bearer emulator-enrollment-token"},
    )
    assert got.json()["enrollment_date"] == "2026-01-29T09:00:00.000Z"


@pytest.mark.parametrize("document", ["3", '{"type": 5}', '{"minimum": "zero"}'])
async def test_a_jsonschema_document_that_is_not_a_schema_is_422(emu: Harness, document: str) -> None:
    async with emu.http() as http:
        assert (await http.post("/config_types", json={"name": "M", "slug": "m"})).status_code == 200
        r = await http.post(
            "/config_schemas",
            json={
                "config_type_ref": {"slug": "m"},
                "language": "jsonschema",
                "format": "json",
                "documents": [{"name": "m.json", "data": document}],
            },
        )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["params"]["field"] == "documents[0].data"


async def test_a_valid_schema_document_is_still_accepted(emu: Harness) -> None:
    async with emu.http() as http:
        await http.post("/config_types", json={"name": "M", "slug": "m"})
        for document in (json.dumps(MOTION_V1), "true", "{}"):
            r = await http.post(
                "/config_schemas",
                json={
                    "config_type_ref": {"slug": "m"},
                    "language": "jsonschema",
                    "format": "json",
                    "documents": [{"name": "m.json", "data": document}],
                },
            )
            assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("collection", "body"),
    [
        ("devices", {"name": ""}),
        ("groups", {"name": ""}),
        ("config_types", {"name": ""}),
    ],
)
async def test_an_update_cannot_blank_a_name(fleet: Fleet, collection: str, body: dict[str, Any]) -> None:
    async with fleet.emu.http() as http:
        first = (await http.get(f"/{collection}")).json()["data"][0]
        r = await http.patch(f"/{collection}/{first['id']}", json=body)
        assert r.status_code == 400 and r.json()["error"]["params"]["field"] == "name"
        assert (await http.get(f"/{collection}/{first['id']}")).json()["name"] == first["name"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/groups", {"name": "never-written"}),
        ("/devices", {"name": "never-written"}),
        ("/config_types", {"name": "N", "slug": "never-written"}),
        ("/git_commits", {"sha": "a" * 40, "message": "m", "origin": "https://github.com/acme/fleet"}),
    ],
)
async def test_a_bad_expand_on_a_create_writes_nothing(emu: Harness, path: str, body: dict[str, Any]) -> None:
    async with emu.http() as http:
        r = await http.post(path, json=body, params={"expand": "bogus"})
        assert r.status_code == 400 and r.json()["error"]["params"]["param"] == "expand"
        listed = (await http.get(path, params={"expand": "total_count"})).json()
    assert listed["total_count"] == 0
