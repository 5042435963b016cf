"""The smaller rules of Miru's docs and spec the emulator follows: group depth, the schema
digest, nullable device descriptions."""

from __future__ import annotations

import json

import pytest

from tests.harness import Harness

pytestmark = pytest.mark.anyio


async def test_groups_nest_twelve_levels_and_a_move_counts_the_subtree(emu: Harness) -> None:
    """Groups page: "The tree can be up to 12 levels deep, counting the top-level group"."""
    async with emu.http() as http:
        chain: list[str] = []
        parent = None
        for level in range(1, 13):
            r = await http.post("/groups", json={"name": f"l{level}", "parent_id": parent})
            assert r.status_code == 200, (level, r.text)
            parent = r.json()["id"]
            chain.append(parent)
        r = await http.post("/groups", json={"name": "l13", "parent_id": parent})
        assert r.status_code == 422 and r.json()["error"]["code"] == "group_too_deep"
        # A two-level subtree fits under level 10, not under level 11.
        top = (await http.post("/groups", json={"name": "sub"})).json()["id"]
        await http.post("/groups", json={"name": "leaf", "parent_id": top})
        assert (await http.post(f"/groups/{top}/move", json={"parent_id": chain[9]})).status_code == 200
        r = await http.post(f"/groups/{top}/move", json={"parent_id": chain[10]})
        assert r.status_code == 422 and r.json()["error"]["params"]["max_depth"] == 12


async def test_schema_digest_ignores_formatting(emu: Harness) -> None:
    """A JSON Schema document's digest comes from what it says, not how it is written."""
    await emu.seed({"config_types": [{"slug": "motion", "name": "Motion"}]})
    doc = {"type": "object", "properties": {"speed": {"type": "number"}}}
    slots = [{"key": "default", "name": "Default", "filepath": "/srv/motion.json", "required": True}]

    async def create(text: str) -> dict[str, str]:
        async with emu.http() as http:
            r = await http.post(
                "/config_schemas",
                json={
                    "config_type_ref": {"slug": "motion"},
                    "language": "jsonschema",
                    "format": "json",
                    "instance_format": "json",
                    "instance_slots": slots,
                    "documents": [{"name": "schema.json", "data": text}],
                },
            )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    compact = await create(json.dumps(doc, separators=(",", ":")))
    pretty = await create(json.dumps(dict(reversed(list(doc.items()))), indent=4))
    assert pretty["digest"] == compact["digest"] and pretty["id"] == compact["id"]
    other = await create(json.dumps({**doc, "required": ["speed"]}))
    assert other["digest"] != compact["digest"]


async def test_device_description_is_null_unless_given(emu: Harness) -> None:
    """Everglades spec, BaseDevice.description: `nullable: true`."""
    await emu.seed(
        {"devices": [{"name": "seeded"}, {"name": "described", "description": "Welder on line 3"}]}
    )
    async with emu.http() as http:
        created = (await http.post("/devices", json={"name": "made"})).json()
        rows = {d["name"]: d for d in (await http.get("/devices?limit=100")).json()["data"]}
    assert created["description"] is None
    assert rows["seeded"]["description"] is None
    assert rows["described"]["description"] == "Welder on line 3"
