"""`reconcile import`: a live fleet becomes a project whose first plan has no changes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.plan.adopt.sets import diff
from tests.adopt.fleet import emulator_project, mixed_fleet, stage_and_drift
from tests.harness import Harness, example_fleet


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def plan_json(root: Path) -> dict[str, Any]:
    result = cli("plan", str(root), "--format", "json", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


@pytest.mark.parametrize("set_per", ["group", "release"])
def test_import_then_plan_has_no_changes_on_a_mixed_fleet_of_1000(
    emu: Harness, tmp_path: Path, set_per: str
) -> None:
    asyncio.run(emu.seed(mixed_fleet(1000)))
    on_old = [f"robot-{i:05d}" for i in range(1, 80, 3) if i % 5]  # on v1.4.1: v1.4.2 can be staged
    asyncio.run(stage_and_drift(emu, on_old, on_old[:10]))
    root = emulator_project(tmp_path / "fleet", emu)
    result = cli("import", str(root), "--set-per", set_per)
    assert result.exit_code == 0, result.output
    assert "Imported 1000 device(s)" in result.output and "20 left out" in result.output
    plan = plan_json(root)
    assert plan["summary"]["noop"] == 1000, plan["summary"]
    assert plan["summary"]["blocked"] == 0 and plan["summary"]["instances_to_create"] == 0
    left = (root / "deploymentsets" / "not-imported.yaml").read_text()
    assert '"spare-000": never enrolled' in left and '"fresh-000": no deployment' in left
    # Identical content is one file: far fewer files than devices.
    files = list((root / "configs").rglob("*.*"))
    assert 3 <= len(files) < 40
    if set_per == "release":
        names = {p.stem for p in (root / "deploymentsets").glob("*.yaml")}
        assert {"lab-v1-4-1", "lab-v1-4-2", "fleet-v1-4-1"} <= names


def test_per_device_differences_are_overrides_with_the_fewest_values(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(mixed_fleet(60)))
    root = emulator_project(tmp_path / "fleet", emu)
    assert cli("import", str(root)).exit_code == 0
    doc = yaml.safe_load((root / "deploymentsets" / "warehouse-east.yaml").read_text())
    overrides = doc["spec"]["overrides"]
    speed = [
        o
        for o in overrides
        if o.get("configs", {}).get("motion-control", {}).get("values") == {"max_speed": 0.8}
    ]
    assert speed, overrides  # only the value that differs, not the whole file
    assert all(len(o["devices"]) >= 1 for o in overrides)
    assert doc["spec"]["selector"] == {
        "groups": ["warehouse-east"],
        "exclude": {"devices": ["spare-000", "spare-001"]},
    }
    lab = yaml.safe_load((root / "deploymentsets" / "lab.yaml").read_text())
    removed = [o for o in lab["spec"]["overrides"] if o.get("configs", {}).get("localization")]
    assert {"values": {"frame": None}} in [o["configs"]["localization"] for o in removed]
    assert "robot-00002" in lab["spec"]["selector"]["exclude"]["devices"]
    alone = yaml.safe_load((root / "deploymentsets" / "lab-2.yaml").read_text())
    assert alone["spec"]["selector"] == {"devices": ["robot-00002"]}
    fleet = yaml.safe_load((root / "deploymentsets" / "fleet.yaml").read_text())
    assert fleet["spec"]["selector"]["exclude"]["groups"] == ["warehouse-east", "warehouse-west"]
    assert plan_json(root)["summary"]["noop"] == 60


def test_import_refuses_to_overwrite_without_force(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = emulator_project(tmp_path / "fleet", emu)
    assert cli("import", str(root)).exit_code == 0
    mine = root / "deploymentsets" / "lab.yaml"
    mine.write_text("# edited by hand\n")
    again = cli("import", str(root))
    assert again.exit_code == 1 and "--force" in again.output and "nothing written" in again.output
    assert mine.read_text() == "# edited by hand\n"
    assert cli("import", str(root), "--force").exit_code == 0
    assert "kind: DeploymentSet" in mine.read_text()


def test_import_narrowed_to_devices_names_them(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = emulator_project(tmp_path / "fleet", emu)
    assert cli("import", str(root), "--device", "lab-arm-01", "--device", "amr-east-02").exit_code == 0
    sets = {p.stem: yaml.safe_load(p.read_text()) for p in (root / "deploymentsets").glob("*.yaml")}
    assert sets["lab"]["spec"]["selector"] == {"devices": ["lab-arm-01"]}
    assert plan_json(root)["summary"]["noop"] == 2
    other = emulator_project(tmp_path / "other", emu)
    unknown = cli("import", str(other), "--group", "nope")
    assert unknown.exit_code == 1 and "not on the platform: 'nope'" in unknown.output
    assert not (other / "deploymentsets").exists()


def test_hostile_device_names_stay_inside_their_comment(emu: Harness, tmp_path: Path) -> None:
    seed = example_fleet(spare=False)
    seed["devices"].append({"name": "evil\nkind: DeploymentSet", "group": "lab", "status": "inactive"})
    asyncio.run(emu.seed(seed))
    root = emulator_project(tmp_path / "fleet", emu)
    assert cli("import", str(root)).exit_code == 0
    text = (root / "deploymentsets" / "not-imported.yaml").read_text()
    assert all(line.startswith("#") for line in text.splitlines())
    assert plan_json(root)["summary"]["noop"] == 17


def test_diff_is_the_smallest_merge_patch() -> None:
    base = {"a": 1, "b": {"c": 2, "d": [1, 2]}, "e": "x"}
    want = {"a": 1, "b": {"c": 3, "d": [1, 2]}, "f": True}
    assert diff(base, want) == {"b": {"c": 3}, "e": None, "f": True}
    assert diff({"a": 1}, {"a": 1.0}) == {"a": 1.0}  # 1 and 1.0 are different JSON


def test_the_written_project_file_names_the_platform_and_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.commands.import_source import project_file, source_project
    from reconciler.manifests.loader import load_path
    from reconciler.model.project import RemoteTarget

    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    monkeypatch.setenv("MIRU_API_KEY", "not-in-any-file-0123456789")
    project, write = source_project(tmp_path, "https://api.example.com/beta")
    assert write
    (tmp_path / "reconcile.yaml").write_text(project_file(project))
    loaded = load_path(tmp_path, require_sets=False)  # before import writes sets
    assert loaded.target == RemoteTarget("https://api.example.com/beta")
    assert loaded.manifests == ("deploymentsets/**/*.yaml",)
    assert "not-in-any-file" not in (tmp_path / "reconcile.yaml").read_text()
    monkeypatch.delenv("MIRU_API_KEY")
    empty = tmp_path / "empty"
    result = cli("import", str(empty), "--base-url", "https://api.example.com/beta")
    assert result.exit_code == 1 and "MIRU_API_KEY is not set" in result.output
    assert list(empty.iterdir()) == []
