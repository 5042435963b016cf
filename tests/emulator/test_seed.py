"""Seed loading: the example seed file, the harness fleet builder, and bad seeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.emulator import seed as seed_mod
from reconciler.emulator.app import create_app
from tests.harness import Harness, example_fleet, items

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


async def test_example_fleet_seed_builds_the_brief_fleet(emu: Harness) -> None:
    loaded = await emu.seed(example_fleet())
    assert loaded["loaded"]["devices"] == 18
    sdk = emu.sdk()
    page = await sdk.devices.list(limit=100, expand=["total_count"])
    names = {d["name"] for d in items(page)}
    assert {"amr-east-01", "amr-east-08", "amr-west-06", "lab-arm-03", "amr-spare-01"} <= names
    assert page.total_count == 18
    offline = await sdk.devices.list(status=["offline"])
    assert [d["name"] for d in items(offline)] == ["amr-east-07"]
    spare = items(await sdk.devices.list(name=["amr-spare-01"]))[0]
    assert spare["status"] == "inactive"
    state = await emu.device_state("amr-spare-01")
    assert state["current_release_id"] is None and state["target_deployment_id"] is None


async def test_seeded_devices_run_v141_with_deployed_configs(emu: Harness) -> None:
    await emu.seed(example_fleet())
    sdk = emu.sdk()
    page = await sdk.devices.list(name=["amr-east-01"], expand=["current_deployment", "current_release"])
    dev = items(page)[0]
    assert dev["current_release"]["version"] == "v1.4.1"
    assert dev["current_deployment"]["status"] == "deployed"
    dpl = await sdk.deployments.retrieve(dev["current_deployment"]["id"], expand=["config_instances"])
    assert dpl.config_instances is not None
    assert sorted(i.config_type_name for i in dpl.config_instances) == [
        "Localization",
        "Motion Control",
        "Operator Notes",
    ]
    # Identical content is one instance shared by every device.
    instances = await sdk.config_instances.list(expand=["total_count", "content"])
    assert instances.total_count == 3


def test_example_seed_file_loads(tmp_path: Path) -> None:
    app = create_app(str(tmp_path / "e.db"), seed=ROOT / "examples" / "seed.yaml", clock="manual")
    conn = app.state.store.conn
    assert conn.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 18
    assert conn.execute("SELECT COUNT(*) FROM deployments").fetchone()[0] == 17
    assert conn.execute("SELECT COUNT(*) FROM enrollments").fetchone()[0] == 1
    conn.close()


def test_seed_applies_only_to_a_new_db(tmp_path: Path) -> None:
    db = str(tmp_path / "e.db")
    create_app(db, seed=ROOT / "examples" / "seed.yaml", clock="manual").state.store.conn.close()
    app = create_app(db, seed=ROOT / "examples" / "seed.yaml", clock="manual")
    assert app.state.store.conn.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 18
    app.state.store.conn.close()


def test_bad_seed_names_the_entry(tmp_path: Path) -> None:
    data = example_fleet()
    motion = {"max_speed": 9, "max_accel": 0.5, "safety": {"estop_timeout_ms": 200, "lidar_zones": []}}
    data["devices"][2]["configs"] = {**data["devices"][2]["configs"], "motion-control": motion}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    expected = r"devices\[2\] \(amr-east-03\)\.configs\.motion-control: \$\.max_speed"
    with pytest.raises(seed_mod.SeedError, match=expected):
        create_app(str(tmp_path / "e.db"), seed=bad, clock="manual")
    # Nothing half-written: the db is still new, so a fixed seed applies next time.
    app = create_app(str(tmp_path / "e.db"), seed=ROOT / "examples" / "seed.yaml", clock="manual")
    assert app.state.store.conn.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 18
    app.state.store.conn.close()


def test_seed_schema_rejects_unknown_fields() -> None:
    with pytest.raises(seed_mod.SeedError, match=r"devices\[0\]"):
        seed_mod.check({"devices": [{"name": "a", "colour": "red"}]})


async def test_admin_seed_accepts_yaml_and_reports_errors(emu: Harness) -> None:
    r = await emu.admin.post("/_emulator/seed", content="groups: [{name: fleet}]\n")
    assert r.status_code == 200 and r.json()["loaded"]["groups"] == 1
    r = await emu.admin.post("/_emulator/seed", content="devices: [{name: x, group: nowhere}]\n")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_seed"
    assert "nowhere" in r.json()["error"]["message"]


def test_seed_file_errors_carry_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "seed.yaml"
    bad.write_text(
        "groups:\n  - {name: fleet}\ndevices:\n  - name: a\n    group: fleet\n"
        "  - name: b\n    group: nowhere\n"
    )
    with pytest.raises(seed_mod.SeedError) as info:
        create_app(str(tmp_path / "e.db"), seed=bad, clock="manual")
    assert str(info.value).startswith(f"{bad}:7:12: devices[1] (b).group: unknown or ambiguous group")


def test_seed_schema_errors_point_at_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "seed.yaml"
    bad.write_text("devices:\n  - name: a\n    agent: {behaviour: explode}\n")
    with pytest.raises(seed_mod.SeedError) as info:
        create_app(str(tmp_path / "e.db"), seed=bad, clock="manual")
    assert str(info.value).startswith(f"{bad}:3:24: invalid seed:\n  devices[0].agent.behaviour:")


def test_duplicate_group_names_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "seed.yaml"
    bad.write_text("groups:\n  - {name: fleet}\n  - {name: fleet}\n")
    with pytest.raises(seed_mod.SeedError, match=r":3:5: groups\[1\]: a group named 'fleet' already exists"):
        create_app(str(tmp_path / "e.db"), seed=bad, clock="manual")


def test_missing_seed_file_is_a_seed_error(tmp_path: Path) -> None:
    with pytest.raises(seed_mod.SeedError, match="cannot read the seed file"):
        create_app(str(tmp_path / "e.db"), seed=tmp_path / "missing.yaml", clock="manual")


async def test_multi_slot_configs_by_slug_and_slot(emu: Harness) -> None:
    seed = {
        "config_types": [{"slug": "camera", "name": "Camera"}],
        "config_schemas": [
            {
                "config_type": "camera",
                "version": "v1",
                "language": "opaque",
                "instance_format": "text",
                "slots": [
                    {"key": "left", "filepath": "/etc/cam/left.txt"},
                    {"key": "right", "filepath": "/etc/cam/right.txt", "required": False},
                ],
            }
        ],
        "releases": [{"version": "r1", "schemas": ["camera@v1"]}],
        "devices": [
            {"name": "d1", "release": "r1", "configs": {"camera/left": "L"}},
            {"name": "d2", "release": "r1", "configs": {"camera/left": "L", "camera/right": "R"}},
        ],
    }
    await emu.seed(seed)
    sdk = emu.sdk()
    page = await sdk.config_instances.list(expand=["content"])
    assert sorted((i["slot_key"], i["filepath"], i["content"]["data"]) for i in items(page)) == [
        ("left", "/etc/cam/left.txt", "L"),
        ("right", "/etc/cam/right.txt", "R"),
    ]
    r = await emu.admin.post(
        "/_emulator/seed",
        json={"devices": [{"name": "d3", "release": "r1", "configs": {"camera/right": "R"}}]},
    )
    assert r.status_code == 422 and "required slot camera/left has no value" in r.json()["error"]["message"]


async def test_a_fixed_device_id_is_kept_and_must_be_unique(emu: Harness) -> None:
    await emu.seed({"devices": [{"id": "dvc_fixed_01", "name": "a", "status": "inactive"}]})
    assert (await emu.device_state("a"))["id"] == "dvc_fixed_01"
    r = await emu.admin.post("/_emulator/seed", json={"devices": [{"id": "dvc_fixed_01", "name": "b"}]})
    assert r.status_code == 422 and "devices[0] (b).id" in r.json()["error"]["message"]
    assert [d["name"] for d in items(await emu.sdk().devices.list())] == ["a"]  # nothing half-loaded


async def test_admin_seed_refuses_document_file(emu: Harness, tmp_path: Path) -> None:
    """Over HTTP a seed cannot make the server read its files (the built-in rw key is public)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    seed = {
        "config_types": [{"slug": "notes"}],
        "config_schemas": [
            {
                "config_type": "notes",
                "version": "v1",
                "language": "opaque",
                "instance_format": "text",
                "document_file": str(secret),
            }
        ],
    }
    r = await emu.admin.post("/_emulator/seed", json=seed)
    assert r.status_code == 422 and "config_schemas[0].document_file" in r.json()["error"]["message"]
    assert "top secret" not in r.text
    assert items(await emu.sdk().config_types.list()) == []  # nothing loaded
    # The same seed as a file is fine: files are trusted, paths relative to the seed.
    (tmp_path / "seed.yaml").write_text(
        yaml.safe_dump(
            {**seed, "config_schemas": [{**seed["config_schemas"][0], "document_file": "secret.txt"}]}
        )
    )
    app = create_app(str(tmp_path / "f.db"), seed=tmp_path / "seed.yaml", clock="manual")
    assert app.state.store.conn.execute("SELECT COUNT(*) FROM config_schemas").fetchone()[0] == 1
    app.state.store.conn.close()


def _fleet_state(app: Any) -> tuple[set[tuple[Any, ...]], ...]:
    """What a seeded platform holds, independent of ids and formatting: devices (name, status,
    group, release, agent), deployed config instances (type, slot, path, format, parsed
    content), schemas (type, version label, slots) and the schemas' parsed documents."""
    conn = app.state.store.conn
    devices = {
        tuple(r)
        for r in conn.execute(
            "SELECT d.name, d.status, g.name, r.version, d.behaviour, d.delay FROM devices d "
            "LEFT JOIN groups g ON g.id = d.group_id LEFT JOIN releases r ON r.id = d.current_release_id"
        )
    }
    types = {x["id"]: x["slug"] for x in conn.execute("SELECT id, slug FROM config_types")}
    instances = set()
    for r in conn.execute("SELECT * FROM config_instances"):
        data = r["data"] if r["format"] == "text" else json.dumps(yaml.safe_load(r["data"]), sort_keys=True)
        instances.add((types[r["config_type_id"]], r["slot_key"], r["filepath"], r["format"], data))
    rows = conn.execute("SELECT * FROM config_schemas").fetchall()
    schemas = {(types[r["config_type_id"]], r["label"], r["slots"]) for r in rows}
    documents = {
        (
            types[r["config_type_id"]],
            r["label"],
            json.dumps([yaml.safe_load(d["data"]) for d in json.loads(r["documents"])], sort_keys=True),
        )
        for r in rows
    }
    return devices, instances, schemas, documents


def test_the_example_seed_file_is_the_harness_fleet(tmp_path: Path) -> None:
    """examples/seed.yaml and tests/harness.py::example_fleet() build the same platform."""
    from_file = create_app(str(tmp_path / "file.db"), seed=ROOT / "examples" / "seed.yaml", clock="manual")
    (tmp_path / "harness.yaml").write_text(yaml.safe_dump(example_fleet()))
    from_harness = create_app(str(tmp_path / "harness.db"), seed=tmp_path / "harness.yaml", clock="manual")
    try:
        file_state, harness_state = _fleet_state(from_file), _fleet_state(from_harness)
        assert [len(x) for x in file_state] == [18, 3, 4, 4]
        assert file_state == harness_state
    finally:
        from_file.state.store.conn.close()
        from_harness.state.store.conn.close()
