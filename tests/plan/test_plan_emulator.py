"""make_plan against the emulator (through the SDK over ASGI): every action and every
blocked reason, content-address reuse, offline marking, enrollment diagnostics, and the
number of requests reading live state costs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.commands.planning import make_plan
from reconciler.commands.wiring import session
from reconciler.manifests.loader import load_path
from reconciler.model.enums import BlockReason
from reconciler.model.plan import DeviceChange, Plan
from tests.harness import Harness, example_fleet, instance_content
from tests.plan.projects import CLIENT_ID, ENROLLMENT_TOKEN, dset, write_project

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENROLLMENT_TOKEN", ENROLLMENT_TOKEN)
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)


async def plan_of(root: Path) -> tuple[Plan, int]:
    project = load_path(root)
    async with session(project) as wired:
        plan = await make_plan(project, wired, created_at="")
        return plan, wired.platform.requests


def changes(plan: Plan) -> dict[str, DeviceChange]:
    return {c.device: c for c in plan.changes}


async def test_example_fleet_plan(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet())
    plan, requests = await plan_of(write_project(tmp_path / "p", emu.db))
    got = changes(plan)
    s = plan.summary()
    assert (s["deploy"], s["upgrade"], s["blocked"], s["instances_to_create"]) == (14, 3, 1, 3)
    east1 = got["amr-east-01"]
    assert east1.action == "deploy"
    assert [(d.path, d.old, d.new) for d in east1.config_diffs] == [
        (("motion-control", "default", "max_speed"), 1.0, 0.8)
    ]
    # the parent token: the device's current target deployment, as the platform says
    assert east1.device_id is not None
    live = await emu.sdk().devices.retrieve(east1.device_id, expand=["current_deployment"])
    assert live.current_deployment is not None
    assert east1.parent_token == live.current_deployment.id
    assert got["amr-east-07"].offline and got["amr-east-07"].action == "deploy"
    lab = got["lab-arm-01"]
    assert lab.action == "upgrade" and (lab.release_from, lab.release_to) == ("v1.4.1", "v1.4.2")
    spare = got["amr-spare-01"]
    assert spare.action == "blocked" and spare.reason_code == BlockReason.NOT_ENROLLED
    # enrollment diagnostics from the emulator's seed-001 API: the failed attempt's logs
    assert any("error" in line for line in spare.diagnostics)
    assert any("Installation failed - insufficient permissions" in x for x in spare.diagnostics)
    # content an opaque schema cannot check is said, in the plan itself
    assert plan.notes == ("operator-notes: opaque schema, content not checked",)
    # requests: a handful (groups, types, devices, deployments, releases, schemas, instances)
    assert requests <= 14


async def test_noop_when_live_equals_manifests(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(spare=False))
    root = write_project(
        tmp_path / "p", emu.db, {"a.yaml": dset("all", selector="groups: [fleet, lab]", motion="values: {}")}
    )
    plan, _ = await plan_of(root)
    assert {c.action for c in plan.changes} == {"noop"}
    assert not plan.has_changes and plan.instances == ()


async def test_stage_restage_and_drift_review(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(spare=False))
    sdk = emu.sdk()
    devices = {
        d["name"] if isinstance(d, dict) else d.name: d for d in (await sdk.devices.list(limit=100)).data
    }

    def did(name: str) -> str:
        d = devices[name]
        return str(d["id"] if isinstance(d, dict) else d.id)

    releases = {r.version: r for r in (await sdk.releases.list(limit=100, expand=["config_schemas"])).data}
    v142 = releases["v1.4.2"]
    schemas = {s.id: s for s in (await sdk.config_schemas.list(limit=100, expand=["config_type"])).data}
    ids = []
    for s in v142.config_schemas or []:
        slug = schemas[s.id].config_type.slug  # type: ignore[union-attr]
        data = {
            "motion-control": '{"max_speed": 2.0, "max_accel": 0.5, "safety": {"estop_timeout_ms": 200, '
            '"lidar_zones": []}}',
            "localization": "map: x\nparticle_count: 500\nupdate_rate_hz: 10\n",
            "operator-notes": "x\n",
        }[slug]
        fmt = schemas[s.id].instance_format
        inst = await sdk.config_instances.create(config_schema_id=s.id, content={"data": data, "format": fmt})
        ids.append(inst.id)
    # lab-arm-01: an outdated staged deployment (restage); lab-arm-02: staged by hand, then the
    # device was patched on its current release, so it drifted (needs review).
    staged1 = await sdk.deployments.create(
        device_id=did("lab-arm-01"),
        release_id=v142.id,
        config_instance_ids=ids,
        description="by hand",
        target_status="staged",
    )
    await sdk.deployments.create(
        device_id=did("lab-arm-02"),
        release_id=v142.id,
        config_instance_ids=ids,
        description="by hand",
        target_status="staged",
    )
    current = (
        await sdk.devices.retrieve(did("lab-arm-02"), expand=["current_deployment"])
    ).current_deployment
    assert current is not None
    live_ids = [
        i.id
        for i in (await sdk.deployments.retrieve(current.id, expand=["config_instances"])).config_instances
        or []
    ]
    await sdk.deployments.create(
        device_id=did("lab-arm-02"),
        release_id=current.release_id,
        config_instance_ids=live_ids,
        description="dashboard patch",
        target_status="deployed",
    )
    root = write_project(
        tmp_path / "p",
        emu.db,
        {
            "lab.yaml": dset(
                "lab",
                selector="groups: [lab]",
                release="v1.4.2",
                activation="stage",
                motion="values: {docking: {approach_speed: 0.3}}",
            )
        },
    )
    plan, _ = await plan_of(root)
    got = changes(plan)
    assert got["lab-arm-01"].action == "restage" and got["lab-arm-01"].archive_ids == (staged1.id,)
    assert got["lab-arm-02"].action == "blocked"
    assert got["lab-arm-02"].reason_code == BlockReason.DRIFT_REVIEW
    assert got["lab-arm-03"].action == "stage"


@pytest.mark.parametrize(
    ("manifest", "device", "code", "words"),
    [
        (
            dset("x", release="v9.9.9"),
            "amr-east-01",
            BlockReason.RELEASE_UNKNOWN,
            "release 'v9.9.9' does not exist",
        ),
        (
            dset("x", extra_configs="    camera:\n      values: {fps: 30}\n"),
            "amr-east-01",
            BlockReason.CONFIG_TYPE_UNKNOWN,
            "config type 'camera' does not exist",
        ),
        (
            dset("x", configs="    motion-control:\n      file: ../configs/motion-control.json\n"),
            "amr-east-01",
            BlockReason.SLOT_MISSING,
            "'localization' slot 'default'",
        ),
        (
            dset("x", motion="values: {max_speed: 5}"),
            "amr-east-01",
            BlockReason.CONTENT_INVALID,
            "content invalid at $.max_speed: 5 is greater than the maximum of 3",
        ),
        (
            dset("x", selector="devices: [amr-east-01, amr-ghost-01]"),
            "amr-ghost-01",
            BlockReason.DEVICE_UNKNOWN,
            "does not exist on the platform",
        ),
    ],
)
async def test_blocked_reasons(
    emu: Harness, tmp_path: Path, manifest: str, device: str, code: str, words: str
) -> None:
    await emu.seed(example_fleet(spare=False))
    plan, _ = await plan_of(write_project(tmp_path / "p", emu.db, {"x.yaml": manifest}))
    c = changes(plan)[device]
    assert c.action == "blocked" and c.reason_code == code
    assert words in (c.reason or "")


async def test_content_invalid_names_manifest_line(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(spare=False))
    plan, _ = await plan_of(
        write_project(tmp_path / "p", emu.db, {"x.yaml": dset("x", motion="values: {max_speed: 5}")})
    )
    reason = plan.changes[0].reason or ""
    assert "deploymentsets/x.yaml:" in reason


async def test_archived_device_is_blocked(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(spare=False))
    await emu.patch_device("amr-west-01", status="archived")
    plan, _ = await plan_of(write_project(tmp_path / "p", emu.db))
    c = changes(plan)["amr-west-01"]
    assert c.action == "blocked" and c.reason_code == BlockReason.DEVICE_ARCHIVED


async def test_second_plan_reuses_instance_created_in_between(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(spare=False))
    root = write_project(tmp_path / "p", emu.db)
    plan, _ = await plan_of(root)
    to_create = [i for i in plan.instances if i.existing_id is None]
    assert len(to_create) == 3
    sdk = emu.sdk()
    first = to_create[0]
    made = await sdk.config_instances.create(
        config_schema_id=first.config_schema_id,
        slot_key=first.slot_key,
        content=instance_content(first.format, first.data),
    )
    plan2, _ = await plan_of(root)
    again = {i.key: i for i in plan2.instances}
    assert again[first.key].existing_id == made.id
    assert plan2.summary()["instances_to_create"] == 2
    assert [c.instance_keys for c in plan2.changes] == [c.instance_keys for c in plan.changes]


async def test_plan_does_not_write(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet())
    await plan_of(write_project(tmp_path / "p", emu.db))
    await emu.admin.delete("/_emulator/requests")
    _, made = await plan_of(write_project(tmp_path / "p", emu.db))
    log = await emu.requests()
    platform = [r for r in log["requests"] if r["path"].startswith("/beta/")]
    assert len(platform) == made  # Platform.requests counts exactly what reached the platform
    assert platform and {r["method"] for r in platform} == {"GET"}
    # reading live state: one page per list (17 devices, 17 deployments, 3 distinct instances), the
    # few fixed reads, and one "recent instances" page per desired schema
    assert log["by_route"]["GET /beta/devices"] == 1
    assert log["by_route"]["GET /beta/deployments"] == 2  # live ones, and the newest failed ones


async def test_enrollment_token_from_any_token_env_never_shown(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """token_env may name any variable; whatever the service echoes, its value is hidden."""
    secret = "tok-custom-7788-secret"
    seed = example_fleet()
    seed["enrollment"] = {"client_id": CLIENT_ID, "tokens": [secret]}
    seed["enrollments"][0]["error_logs"] = [f"agent rejected bearer {secret}", "Deployment aborted"]
    await emu.seed(seed)
    root = write_project(tmp_path / "p", emu.db)
    text = (root / "reconcile.yaml").read_text().replace("ENROLLMENT_TOKEN", "FLEET_ENROLL_KEY")
    (root / "reconcile.yaml").write_text(text)
    monkeypatch.setenv("FLEET_ENROLL_KEY", secret)
    plan, _ = await plan_of(root)
    spare = changes(plan)["amr-spare-01"]
    assert "  agent rejected bearer ***" in spare.diagnostics
    assert secret not in json.dumps(plan.to_dict())
