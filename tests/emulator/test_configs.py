"""Config types (immutable slug), config schemas (digest dedup), config instances (immutable,
validated content), releases (unique versions), groups (tree, move without cycles)."""

from __future__ import annotations

import json

import miru_platform_sdk as sdk_mod
import pytest
from miru_platform_sdk.types.config_schema_create_params import Document

from tests.emulator.conftest import Fleet
from tests.harness import MOTION_V1, Harness, as_dict, items

pytestmark = pytest.mark.anyio


async def test_config_instance_content_is_validated_with_json_paths(fleet: Fleet) -> None:
    bad = {"max_speed": 9, "max_accel": 0.5, "safety": {"estop_timeout_ms": 10, "lidar_zones": [1]}, "x": 1}
    with pytest.raises(sdk_mod.UnprocessableEntityError) as info:
        await fleet.sdk.config_instances.create(
            config_schema_id=fleet.schemas[("v1.4.1", "motion-control")],
            content={"format": "json", "data": json.dumps(bad)},
        )
    err = info.value.body["error"]  # type: ignore[index]
    assert err["code"] == "invalid_content"
    assert sorted(err["params"]["paths"]) == [
        "$.max_speed",
        "$.safety.estop_timeout_ms",
        "$.safety.lidar_zones[0]",
        "$.x",
    ]
    assert "$.max_speed" in err["message"]


async def test_missing_required_property_names_its_path(fleet: Fleet) -> None:
    with pytest.raises(sdk_mod.UnprocessableEntityError) as info:
        await fleet.sdk.config_instances.create(
            config_schema_id=fleet.schemas[("v1.4.1", "localization")],
            content={"format": "yaml", "data": "map: m\nparticle_count: 500\n"},
        )
    assert info.value.body["error"]["params"]["paths"] == ["$.update_rate_hz"]  # type: ignore[index]


async def test_unparseable_content_and_wrong_format_are_422(fleet: Fleet) -> None:
    schema = fleet.schemas[("v1.4.1", "motion-control")]
    for content in ({"format": "json", "data": "{not json"}, {"format": "yaml", "data": "a: 1"}):
        with pytest.raises(sdk_mod.UnprocessableEntityError):
            await fleet.sdk.config_instances.create(config_schema_id=schema, content=content)  # type: ignore[arg-type]


async def test_opaque_content_is_accepted_as_is(fleet: Fleet) -> None:
    inst = await fleet.sdk.config_instances.create(
        config_schema_id=fleet.schemas[("v1.4.1", "operator-notes")],
        content={"format": "text", "data": "anything {"},
    )
    assert inst.slot_key == "default" and inst.filepath == "/srv/miru/configs/operator-notes.txt"


async def test_config_instances_are_immutable(fleet: Fleet) -> None:
    ids = await fleet.instances(max_speed=1.5)
    async with fleet.emu.http() as http:
        for method in ("PATCH", "PUT", "DELETE"):
            r = await http.request(method, f"/config_instances/{ids[0]}", json={"content": {}})
            assert r.status_code == 405
        r = await http.get(f"/config_instances/{ids[0]}/content")
        assert r.status_code == 200 and json.loads(r.text)["max_speed"] == 1.5
        assert r.headers["content-type"].startswith("application/json")
    got = as_dict(await fleet.sdk.config_instances.retrieve(ids[0], expand=["content", "config_schema"]))
    assert json.loads(got["content"]["data"])["max_speed"] == 1.5
    assert got["config_schema"]["id"] == fleet.schemas[("v1.4.1", "motion-control")]


async def test_config_instance_filters(fleet: Fleet) -> None:
    schema = fleet.schemas[("v1.4.1", "motion-control")]
    page = await fleet.sdk.config_instances.list(config_schema_id=[schema], expand=["total_count"])
    assert page.total_count == 1  # the seeded fleet shares one instance per slot
    await fleet.instances(max_speed=1.5)
    page = await fleet.sdk.config_instances.list(
        config_schema_id=[schema], slot_key=["default"], expand=["total_count"]
    )
    assert page.total_count == 2


async def test_config_type_slug_is_immutable_and_unique(emu: Harness) -> None:
    sdk = emu.sdk()
    t = await sdk.config_types.create(name="Motion", slug="motion")
    renamed = await sdk.config_types.update(t.id, name="Motion Control")
    assert (renamed.name, renamed.slug) == ("Motion Control", "motion")
    async with emu.http() as http:
        r = await http.patch(f"/config_types/{t.id}", json={"slug": "other"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "immutable_field"
    with pytest.raises(sdk_mod.ConflictError):
        await sdk.config_types.create(name="Again", slug="motion")
    assert [x["slug"] for x in items(await sdk.config_types.list(slug=["motion"]))] == ["motion"]


async def test_config_schemas_dedup_by_digest(emu: Harness) -> None:
    sdk = emu.sdk()
    await sdk.config_types.create(name="Motion", slug="motion")
    doc: list[Document] = [{"name": "motion.json", "data": json.dumps(MOTION_V1)}]
    a = await sdk.config_schemas.create(
        config_type_ref={"slug": "motion"}, language="jsonschema", format="json", documents=doc
    )
    b = await sdk.config_schemas.create(
        config_type_ref={"slug": "motion"}, language="jsonschema", format="json", documents=doc
    )
    assert a.id == b.id and a.digest.startswith("sha256:")
    c = await sdk.config_schemas.create(
        config_type_ref={"slug": "motion"},
        language="jsonschema",
        format="json",
        documents=[{"name": "m.json", "data": "{}"}],
    )
    assert c.id != a.id
    assert a.instance_slots[0].key == "default" and a.instance_format == "json"
    full = as_dict(await sdk.config_schemas.retrieve(a.id, expand=["documents", "config_type"]))
    assert full["documents"][0]["data"] == doc[0]["data"] and full["config_type"]["slug"] == "motion"


async def test_release_versions_are_unique(fleet: Fleet) -> None:
    with pytest.raises(sdk_mod.ConflictError) as info:
        await fleet.sdk.releases.create(version="v1.4.1", config_schema_ids=[])
    assert info.value.body["error"]["code"] == "version_taken"  # type: ignore[index]
    rel = await fleet.sdk.releases.create(
        version="v1.5.0", config_schema_ids=[fleet.schemas[("v1.4.2", "motion-control")]]
    )
    got = as_dict(await fleet.sdk.releases.retrieve(rel.id, expand=["config_schemas"]))
    assert [s["id"] for s in got["config_schemas"]] == [fleet.schemas[("v1.4.2", "motion-control")]]
    assert [r["version"] for r in items(await fleet.sdk.releases.list(version=["v1.5.0"]))] == ["v1.5.0"]


async def test_release_with_two_schemas_of_one_type_is_422(fleet: Fleet) -> None:
    with pytest.raises(sdk_mod.UnprocessableEntityError):
        await fleet.sdk.releases.create(
            version="v2",
            config_schema_ids=[
                fleet.schemas[("v1.4.1", "motion-control")],
                fleet.schemas[("v1.4.2", "motion-control")],
            ],
        )


async def test_group_tree_move_and_cycles(emu: Harness) -> None:
    sdk = emu.sdk()
    root = await sdk.groups.create(name="fleet")
    child = await sdk.groups.create(name="east", parent_id=root.id)
    grandchild = await sdk.groups.create(name="dock", parent_id=child.id)
    with pytest.raises(sdk_mod.UnprocessableEntityError):
        await sdk.groups.move(root.id, parent_id=grandchild.id)
    with pytest.raises(sdk_mod.UnprocessableEntityError):
        await sdk.groups.move(root.id, parent_id=root.id)
    moved = await sdk.groups.move(grandchild.id, parent_id=None)
    assert moved.parent_id is None
    expanded = as_dict(await sdk.groups.retrieve(child.id, expand=["parent"]))
    assert expanded["parent"]["name"] == "fleet"
    children = items(await sdk.groups.list(parent_id=[root.id]))
    assert [g["name"] for g in children] == ["east"]
    with pytest.raises(sdk_mod.ConflictError):
        await sdk.groups.create(name="east", parent_id=root.id)
    renamed = await sdk.groups.update(child.id, name="warehouse-east")
    assert renamed.name == "warehouse-east"
    by_name = items(await sdk.groups.list(limit=100, order_by=["name:asc"]))
    assert [g["name"] for g in by_name] == ["dock", "fleet", "warehouse-east"]


async def test_default_slot_and_slot_rules(emu: Harness) -> None:
    sdk = emu.sdk()
    await sdk.config_types.create(name="Nav", slug="nav")
    docs: list[Document] = [{"name": "n.yaml", "data": "type: object"}]
    schema = await sdk.config_schemas.create(
        config_type_ref={"slug": "nav"}, language="jsonschema", format="yaml", documents=docs
    )
    slot = schema.instance_slots[0]
    assert (slot.key, slot.name, slot.filepath, slot.required) == (
        "default",
        "Default",
        "/srv/miru/configs/nav.yaml",
        True,
    )
    assert schema.instance_format == "yaml"
    async with emu.http() as http:
        base = {"config_type_ref": {"slug": "nav"}, "language": "opaque", "format": "json", "documents": []}
        r = await http.post("/config_schemas", json={**base, "instance_slots": [{"key": "a"}]})
        assert r.status_code == 400  # name, filepath and required are required in the API
        two = [
            {"key": "a", "name": "A", "filepath": "/x", "required": True},
            {"key": "b", "name": "B", "filepath": "/x", "required": False},
        ]
        r = await http.post("/config_schemas", json={**base, "instance_slots": two})
        assert r.status_code == 422 and r.json()["error"]["params"]["field"] == "instance_slots[1].filepath"


async def test_release_slot_filepaths_must_not_clash(emu: Harness) -> None:
    sdk = emu.sdk()
    ids = []
    for slug in ("left", "right"):
        await sdk.config_types.create(name=slug, slug=slug)
        s = await sdk.config_schemas.create(
            config_type_ref={"slug": slug},
            language="opaque",
            format="json",
            documents=[],
            instance_slots=[{"key": "default", "name": "D", "filepath": "/srv/same.txt", "required": True}],
        )
        ids.append(s.id)
    with pytest.raises(sdk_mod.UnprocessableEntityError) as info:
        await sdk.releases.create(version="v1", config_schema_ids=ids)
    assert info.value.body["error"]["params"]["filepath"] == "/srv/same.txt"  # type: ignore[index]
