"""Every operation of the everglades spec, driven through the official SDK, in process and
over a real uvicorn server; every response body is checked against the spec's schema for
that operation (errors against the platform's error envelope)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import miru_platform_sdk as sdk
import pytest
from miru_platform_sdk.types import InstanceContentParam

from tests.emulator_contract.spec import Spec, ValidatingTransport
from tests.harness import Harness

pytestmark = pytest.mark.anyio

MOTION_SCHEMA = {
    "type": "object",
    "properties": {"max_speed": {"type": "number", "minimum": 0, "maximum": 3}},
    "required": ["max_speed"],
    "additionalProperties": False,
}
SEED: dict[str, Any] = {
    "groups": [{"name": "fleet"}, {"name": "east", "parent": "fleet"}, {"name": "lab"}],
    "config_types": [{"slug": "motion", "name": "Motion"}],
    "config_schemas": [
        {
            "config_type": "motion",
            "version": "v1",
            "language": "jsonschema",
            "format": "json",
            "instance_format": "json",
            "slots": [{"key": "default", "filepath": "/srv/miru/motion.json", "required": True}],
            "document": MOTION_SCHEMA,
        }
    ],
    "releases": [{"version": "r1", "schemas": ["motion@v1"]}, {"version": "r2", "schemas": ["motion@v1"]}],
    "devices": [
        {
            "name": f"amr-{i:02d}",
            "group": "east",
            "status": "online",
            "release": "r1",
            "configs": {"motion": {"max_speed": 1.0}},
        }
        for i in range(3)
    ],
}

Checked = tuple[sdk.AsyncMiru, ValidatingTransport]


def attr(obj: Any, name: str) -> Any:
    """A field of an SDK object. The SDK leaves list items as plain dicts (its list models
    refer to the item models by forward reference), so both shapes are accepted."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def content(values: dict[str, Any]) -> InstanceContentParam:
    return {"format": "json", "data": json.dumps(values)}


async def test_every_operation_matches_the_spec(emu: Harness, checked: Checked, spec: Spec) -> None:
    await emu.seed(SEED)
    client, transport = checked

    me = await client.principal.self()
    assert me.object == "principal" if hasattr(me, "object") else True

    # Groups: create, retrieve, update, list, move.
    root = await client.groups.create(name="contract-root")
    child = await client.groups.create(name="contract-child", parent_id=root.id, expand=["parent"])
    assert (await client.groups.retrieve(child.id)).id == child.id
    renamed = await client.groups.update(child.id, name="contract-child-2")
    assert renamed.name == "contract-child-2"
    listed = await client.groups.list(limit=2, expand=["total_count"])
    assert len(listed.data) <= 2
    moved = await client.groups.move(child.id, parent_id=None)
    assert moved.parent_id is None

    # Config types: create, retrieve, update, list.
    ctype = await client.config_types.create(name="Notes", slug="notes")
    assert (await client.config_types.retrieve(ctype.id)).slug == "notes"
    assert (await client.config_types.update(ctype.id, name="Operator Notes")).name == "Operator Notes"
    assert any(attr(t, "slug") == "motion" for t in (await client.config_types.list()).data)

    # Git commits, config schemas (with a commit), releases.
    commit = await client.git_commits.create(
        sha="a" * 40, message="contract", origin="https://github.com/acme/fleet"
    )
    assert (await client.git_commits.retrieve(commit.id)).id == commit.id
    assert (await client.git_commits.list()).data
    notes_schema = await client.config_schemas.create(
        config_type_ref={"slug": "notes"},
        documents=[{"name": "notes", "data": ""}],
        format="json",
        language="opaque",
        instance_format="text",
        instance_slots=[
            {"key": "default", "name": "Default", "filepath": "/srv/miru/notes.txt", "required": False}
        ],
        expand=["documents", "config_type"],
    )
    assert (await client.config_schemas.retrieve(notes_schema.id, expand=["documents"])).id == notes_schema.id
    schemas = await client.config_schemas.list(expand=["total_count"])
    motion_id = next(attr(s, "id") for s in schemas.data if attr(s, "config_type_id") != ctype.id)
    release = await client.releases.create(
        version="r3",
        config_schema_ids=[motion_id, notes_schema.id],
        git_commit_ref={"id": commit.id},
        expand=["config_schemas"],
    )
    assert (await client.releases.retrieve(release.id)).version == "r3"
    releases = {attr(r, "version"): attr(r, "id") for r in (await client.releases.list(limit=100)).data}
    assert {"r1", "r2", "r3"} <= set(releases)

    # Devices: create, retrieve, update, list, ping; provisioning tokens.
    created = await client.devices.create(name="contract-device")
    assert (await client.devices.retrieve(created.id)).name == "contract-device"
    assert (await client.devices.update(created.id, name="contract-device-2")).name == "contract-device-2"
    devices = await client.devices.list(limit=100, expand=["total_count"], order_by=["id:asc"])
    device_id = next(attr(d, "id") for d in devices.data if attr(d, "name") == "amr-00")
    await client.devices.ping(device_id, timeout_nanos=1_000_000_000)
    await client.provisioning_tokens.create()

    # Config instances: create, retrieve, list, download.
    inst = await client.config_instances.create(
        config_schema_id=motion_id, content=content({"max_speed": 1.5}), expand=["content"]
    )
    assert (await client.config_instances.retrieve(inst.id)).id == inst.id
    assert (await client.config_instances.list(limit=5)).data
    downloaded = await client.config_instances.download(inst.id)
    assert json.loads(await downloaded.read()) == {"max_speed": 1.5}

    # Deployments: stage for another release, patch the current one (drifts the staged one),
    # stage again, deploy, archive; retrieve, list, drifts.
    live = await client.devices.retrieve(device_id, expand=["current_deployment"])
    staged = await client.deployments.create(
        device_id=device_id,
        release_id=releases["r2"],
        config_instance_ids=[inst.id],
        target_status="staged",
        description="contract staged",
    )
    patch = await client.config_instances.create(
        config_schema_id=motion_id, content=content({"max_speed": 0.5})
    )
    patched = await client.deployments.create(
        device_id=device_id,
        release_id=releases["r1"],
        config_instance_ids=[patch.id],
        target_status="deployed",
        description="contract patch",
        expand=["device", "release"],
    )
    assert patched.target_status == "deployed"
    await emu.tick(5)
    drifts = await client.deployments.list_drifts(staged.id)
    assert isinstance(drifts.data, list)
    restaged = await client.deployments.create(
        device_id=device_id,
        release_id=releases["r2"],
        config_instance_ids=[inst.id],
        target_status="staged",
        description="contract restaged",
    )
    deployed = await client.deployments.deploy(restaged.id)
    assert deployed.target_status == "deployed"
    await emu.tick(5)
    assert (await client.deployments.retrieve(restaged.id)).status == "deployed"
    other = await client.deployments.create(
        device_id=device_id,
        release_id=releases["r1"],
        config_instance_ids=[inst.id],
        target_status="staged",
        description="to archive",
    )
    assert (await client.deployments.archive(other.id)).target_status == "archived"
    listed_deployments = await client.deployments.list(
        device_id=[device_id], expand=["total_count"], limit=100
    )
    assert {restaged.id, other.id} <= {attr(d, "id") for d in listed_deployments.data}
    assert live.id == device_id

    assert transport.problems == []
    every = {op.operation_id for op in spec.operations}
    assert every - transport.covered() == set(), "operations never answered 200"


async def test_errors_use_the_envelope(emu: Harness, checked: Checked) -> None:
    await emu.seed(SEED)
    client, transport = checked
    with pytest.raises(sdk.NotFoundError):
        await client.devices.retrieve("dvc_does_not_exist")
    with pytest.raises(sdk.NotFoundError):
        await client.deployments.deploy("dpl_does_not_exist")
    with pytest.raises(sdk.BadRequestError):
        await client.devices.list(order_by=["shoe_size:asc"])  # type: ignore[list-item]
    schema_id = attr((await client.config_schemas.list()).data[0], "id")
    with pytest.raises(sdk.UnprocessableEntityError):
        await client.config_instances.create(config_schema_id=schema_id, content=content({"max_speed": 99}))
    device_id = attr((await client.devices.list(name=["amr-01"])).data[0], "id")
    release_id = attr((await client.releases.list(version=["r1"])).data[0], "id")
    inst = await client.config_instances.create(config_schema_id=schema_id, content=content({"max_speed": 2}))
    with pytest.raises(sdk.ConflictError):
        await client.deployments.create(
            device_id=device_id,
            release_id=release_id,
            config_instance_ids=[inst.id],
            target_status="deployed",
            description="stale",
            parent_id="dpl_not_current",
        )
    statuses = [r.status for r in transport.records]
    assert {404, 400, 422, 409} <= set(statuses)
    assert transport.problems == []


async def test_auth_and_version_errors_use_the_envelope(
    emu: Harness, base_transport: tuple[str, Any], spec: Spec
) -> None:
    url, inner = base_transport
    transport = ValidatingTransport(inner, spec)
    async with httpx.AsyncClient(transport=transport, base_url=url) as http:
        no_key = await http.get("/beta/devices", headers={"Miru-Version": "2026-08-17.everglades"})
        assert no_key.status_code == 401
        bad_version = await http.get(
            "/beta/devices", headers={"X-API-Key": "emulator-local-rw", "Miru-Version": "2020-01-01.nope"}
        )
        assert bad_version.status_code == 400
        read_only = await http.post(
            "/beta/groups",
            json={"name": "nope"},
            headers={"X-API-Key": "emulator-local-ro", "Miru-Version": "2026-08-17.everglades"},
        )
        assert read_only.status_code == 403
    assert transport.problems == []
