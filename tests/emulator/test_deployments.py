"""Deployment rules: slots, deployed vs staged, parent_id tristate, deploy replaces, one staged
per device, drift, merged status, archive."""

from __future__ import annotations

from typing import Literal

import miru_platform_sdk as sdk_mod
import pytest

from tests.emulator.conftest import Fleet
from tests.harness import as_dict, items

pytestmark = pytest.mark.anyio


Status = Literal["staged", "deployed"]


async def _create(
    fleet: Fleet,
    device: str,
    version: str,
    ids: list[str],
    status: Status = "deployed",
    parent_id: str | sdk_mod.Omit | None = sdk_mod.omit,  # omitted, None or an id: three requests
) -> dict[str, object]:
    d = await fleet.sdk.deployments.create(
        device_id=fleet.devices[device],
        release_id=fleet.releases[version],
        config_instance_ids=ids,
        description="test",
        target_status=status,
        parent_id=parent_id,
    )
    return as_dict(d)


async def _error(
    fleet: Fleet,
    device: str,
    version: str,
    ids: list[str],
    status: Status = "deployed",
    parent_id: str | sdk_mod.Omit | None = sdk_mod.omit,
) -> sdk_mod.APIStatusError:
    with pytest.raises(sdk_mod.APIStatusError) as info:
        await _create(fleet, device, version, ids, status, parent_id)
    return info.value


async def test_required_slot_missing_is_422(fleet: Fleet) -> None:
    ids = await fleet.instances()
    err = await _error(fleet, "amr-east-01", "v1.4.1", ids[1:])  # no motion-control
    assert err.status_code == 422
    body = err.body["error"]  # type: ignore[index]
    assert body["code"] == "required_slot_missing"
    assert body["params"]["missing_slots"] == ["motion-control/default"]


async def test_optional_slot_may_be_empty(fleet: Fleet) -> None:
    ids = await fleet.instances(notes=False)
    d = await _create(fleet, "amr-east-01", "v1.4.1", ids)
    assert d["status"] == "queued"


async def test_two_instances_for_one_slot_is_422(fleet: Fleet) -> None:
    ids = await fleet.instances()
    extra = await fleet.instances(max_speed=2.0)
    err = await _error(fleet, "amr-east-01", "v1.4.1", [*ids, extra[0]])
    assert err.status_code == 422
    assert err.body["error"]["code"] == "slot_filled_twice"  # type: ignore[index]


async def test_instance_of_another_releases_schema_is_422(fleet: Fleet) -> None:
    v2 = await fleet.instances("v1.4.2")  # motion-control v2 is not in v1.4.1
    v1 = await fleet.instances()
    err = await _error(fleet, "amr-east-01", "v1.4.1", [v2[0], *v1[1:]])
    assert err.status_code == 422
    assert err.body["error"]["code"] == "schema_not_in_release"  # type: ignore[index]


async def test_deployed_only_for_the_current_release(fleet: Fleet) -> None:
    ids = await fleet.instances("v1.4.2")
    err = await _error(fleet, "amr-east-01", "v1.4.2", ids, "deployed")
    assert err.status_code == 422
    assert err.body["error"]["code"] == "release_not_current"  # type: ignore[index]


async def test_staged_only_for_another_release(fleet: Fleet) -> None:
    ids = await fleet.instances()
    err = await _error(fleet, "amr-east-01", "v1.4.1", ids, "staged")
    assert err.status_code == 422
    assert err.body["error"]["code"] == "release_is_current"  # type: ignore[index]
    staged = await _create(fleet, "amr-east-01", "v1.4.2", await fleet.instances("v1.4.2"), "staged")
    assert (staged["status"], staged["target_status"]) == ("staged", "staged")


async def test_device_without_release_takes_a_first_deployment_as_deployed(fleet: Fleet) -> None:
    created = await fleet.sdk.devices.create(name="amr-new-01")
    fleet.devices["amr-new-01"] = created.id
    await fleet.emu.patch_device("amr-new-01", status="online")
    d = await _create(fleet, "amr-new-01", "v1.4.2", await fleet.instances("v1.4.2"), parent_id=None)
    assert d["status"] == "queued"
    await fleet.emu.tick(1)
    dev = as_dict(await fleet.sdk.devices.retrieve(created.id, expand=["current_release"]))
    assert dev["current_release"]["version"] == "v1.4.2"


async def test_parent_id_omitted_means_no_check_and_records_the_current_target(fleet: Fleet) -> None:
    before = await fleet.target("amr-east-01")
    d = await _create(fleet, "amr-east-01", "v1.4.1", await fleet.instances(max_speed=1.2))
    assert d["parent_id"] == before
    assert await fleet.target("amr-east-01") == d["id"]


async def test_parent_id_value_must_equal_the_current_target(fleet: Fleet) -> None:
    current = await fleet.target("amr-east-01")
    ids = await fleet.instances(max_speed=1.2)
    err = await _error(fleet, "amr-east-01", "v1.4.1", ids, parent_id="dpl_not_the_current_one")
    assert err.status_code == 409
    assert err.body["error"]["code"] == "parent_mismatch"  # type: ignore[index]
    assert await fleet.target("amr-east-01") == current  # nothing written
    d = await _create(fleet, "amr-east-01", "v1.4.1", ids, parent_id=current)
    assert d["parent_id"] == current
    # The token moved: the old one is stale now.
    err = await _error(fleet, "amr-east-01", "v1.4.1", ids, parent_id=current)
    assert err.status_code == 409


async def test_parent_id_null_asserts_no_current_target(fleet: Fleet) -> None:
    err = await _error(fleet, "amr-east-01", "v1.4.1", await fleet.instances(), parent_id=None)
    assert err.status_code == 409
    listed = items(await fleet.sdk.deployments.list(device_id=[fleet.devices["amr-east-01"]]))
    assert len(listed) == 1  # only the seeded one


async def test_deploy_replaces_the_current_deployment(fleet: Fleet) -> None:
    old = await fleet.target("amr-east-01")
    assert old is not None
    staged = await _create(fleet, "amr-east-01", "v1.4.2", await fleet.instances("v1.4.2"), "staged")
    deployed = as_dict(await fleet.sdk.deployments.deploy(str(staged["id"])))
    assert (deployed["target_status"], deployed["status"]) == ("deployed", "queued")
    assert await fleet.target("amr-east-01") == staged["id"]
    assert (await fleet.deployment(old))["status"] == "deployed"  # still live until the new one lands
    await fleet.emu.tick(1)
    assert (await fleet.deployment(str(staged["id"])))["status"] == "deployed"
    removing = await fleet.deployment(old)
    assert (removing["status"], removing["target_status"]) == ("removing", "archived")
    await fleet.emu.tick(1)
    archived = await fleet.deployment(old)
    assert archived["status"] == "archived" and archived["archived_at"] is not None
    dev = as_dict(await fleet.sdk.devices.retrieve(fleet.devices["amr-east-01"], expand=["current_release"]))
    assert dev["current_release"]["version"] == "v1.4.2"


async def test_deploying_twice_is_409(fleet: Fleet) -> None:
    staged = await _create(fleet, "amr-east-01", "v1.4.2", await fleet.instances("v1.4.2"), "staged")
    await fleet.sdk.deployments.deploy(str(staged["id"]))
    with pytest.raises(sdk_mod.ConflictError):
        await fleet.sdk.deployments.deploy(str(staged["id"]))


async def test_one_staged_deployment_per_device(fleet: Fleet) -> None:
    first = await _create(fleet, "amr-east-01", "v1.4.2", await fleet.instances("v1.4.2"), "staged")
    second = await _create(
        fleet, "amr-east-01", "v1.4.2", await fleet.instances("v1.4.2", max_speed=2), "staged"
    )
    assert (await fleet.deployment(str(first["id"])))["status"] == "archived"
    assert (await fleet.deployment(str(second["id"])))["status"] == "staged"
    staged = items(
        await fleet.sdk.deployments.list(device_id=[fleet.devices["amr-east-01"]], target_status=["staged"])
    )
    assert [d["id"] for d in staged] == [second["id"]]


async def test_config_patch_drifts_the_staged_deployment(fleet: Fleet) -> None:
    staged = await _create(fleet, "amr-east-01", "v1.4.2", await fleet.instances("v1.4.2"), "staged")
    patch = await _create(fleet, "amr-east-01", "v1.4.1", await fleet.instances(max_speed=1.3))
    drifted = await fleet.deployment(str(staged["id"]))
    assert (drifted["status"], drifted["activity_status"]) == ("drifted", "drifted")
    drifts = items(await fleet.sdk.deployments.list_drifts(str(staged["id"])))
    assert [d["id"] for d in drifts] == [patch["id"]]
    # A drifted deployment needs review: it cannot be deployed, only archived.
    with pytest.raises(sdk_mod.ConflictError):
        await fleet.sdk.deployments.deploy(str(staged["id"]))
    archived = as_dict(await fleet.sdk.deployments.archive(str(staged["id"])))
    assert archived["status"] == "archived"


async def test_drifts_is_empty_without_patches(fleet: Fleet) -> None:
    staged = await _create(fleet, "amr-east-02", "v1.4.2", await fleet.instances("v1.4.2"), "staged")
    assert items(await fleet.sdk.deployments.list_drifts(str(staged["id"]))) == []


async def test_archive_only_staged_or_drifted(fleet: Fleet) -> None:
    live = await fleet.target("amr-east-01")
    assert live is not None
    with pytest.raises(sdk_mod.ConflictError):
        await fleet.sdk.deployments.archive(live)


async def test_merged_status_error_wins(fleet: Fleet) -> None:
    await fleet.emu.patch_device("amr-east-01", agent={"behaviour": "retry"})
    d = await _create(fleet, "amr-east-01", "v1.4.1", await fleet.instances(max_speed=1.1))
    await fleet.emu.tick(1)
    got = await fleet.deployment(str(d["id"]))
    assert (got["activity_status"], got["error_status"], got["status"]) == ("queued", "retrying", "retrying")
    filtered = items(await fleet.sdk.deployments.list(error_status=["retrying"]))
    assert [x["id"] for x in filtered] == [d["id"]]


async def test_unknown_device_or_release_is_404(fleet: Fleet) -> None:
    ids = await fleet.instances()
    with pytest.raises(sdk_mod.NotFoundError):
        await fleet.sdk.deployments.create(
            device_id="dvc_missing",
            release_id=fleet.releases["v1.4.1"],
            config_instance_ids=ids,
            description="x",
            target_status="deployed",
        )
    with pytest.raises(sdk_mod.NotFoundError):
        await fleet.sdk.deployments.create(
            device_id=fleet.devices["amr-east-01"],
            release_id="rls_missing",
            config_instance_ids=ids,
            description="x",
            target_status="deployed",
        )


async def test_expand_on_deployments(fleet: Fleet) -> None:
    d = await _create(fleet, "amr-east-01", "v1.4.1", await fleet.instances(max_speed=1.4))
    got = as_dict(
        await fleet.sdk.deployments.retrieve(
            str(d["id"]), expand=["device", "release", "parent", "config_instances"]
        )
    )
    assert got["device"]["name"] == "amr-east-01"
    assert got["release"]["version"] == "v1.4.1"
    assert got["parent"]["id"] == d["parent_id"]
    assert len(got["config_instances"]) == 3
    plain = as_dict(await fleet.sdk.deployments.retrieve(str(d["id"])))
    assert plain.get("device") is None and plain.get("config_instances") is None
