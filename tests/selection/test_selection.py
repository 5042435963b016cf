"""`--set` and `--device` on plan, drift, status and apply (with --promote): the run covers
that part of the fleet only, reads only what it needs (the emulator's request log counts the
pages), and a glob matching nothing is an error naming it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.emulator import clock, store
from reconciler.emulator import seed as emulator_seed
from tests.apply.helpers import write_project
from tests.harness import Harness, example_fleet

N = 850  # 400 in warehouse-east, 300 in warehouse-west, 150 in lab
HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def three_sets(emu: Harness, root: Path, rollout: dict[str, Any] | None = None) -> Path:
    for name, group in (("east", "warehouse-east"), ("west", "warehouse-west"), ("lab", "lab")):
        write_project(root, emu, name=name, groups=(group,), rollout=rollout)
    return root


def big_fleet(emu: Harness) -> None:
    conn = store.connect(emu.db)
    try:
        emulator_seed.load(conn, example_fleet(N, spare=False), clock.now(conn))
    finally:
        conn.close()


def reads(emu: Harness, *args: str) -> tuple[Any, dict[str, int]]:
    asyncio.run(emu.admin.delete("/_emulator/requests"))
    result = cli(*args)
    return result, asyncio.run(emu.requests())["by_route"]


def test_plan_a_set_reads_its_groups_devices_and_their_deployments_only(emu: Harness, tmp_path: Path) -> None:
    big_fleet(emu)
    root = three_sets(emu, tmp_path / "p")
    full, every = reads(emu, "plan", str(root), "--format", "json")
    assert full.exit_code == 0, full.output
    # deployments: 9 pages of live ones, and one of the newest failed ones
    assert every["GET /beta/devices"] == 9 and every["GET /beta/deployments"] == 9 + 1

    lab, some = reads(emu, "plan", str(root), "--set", "lab", "--format", "json")
    assert lab.exit_code == 0, lab.output
    plan = json.loads(lab.stdout)
    assert {c["device"][:7] for c in plan["changes"]} == {"lab-arm"} and len(plan["changes"]) == 150
    assert list(plan["rollouts"]) == ["lab"] and plan["summary"]["deploy"] == 150
    # 150 devices by group_id (2 pages), their deployments by device_id (2 chunks) and the
    # newest failures (1): not 9 + 10
    assert some["GET /beta/devices"] == 2 and some["GET /beta/deployments"] == 2 + 1

    globbed, _ = reads(emu, "plan", str(root), "--set", "e*", "--set", "w*", "--format", "json")
    assert json.loads(globbed.stdout)["summary"]["deploy"] == 700


def test_plan_devices_by_name_or_by_pattern(emu: Harness, tmp_path: Path) -> None:
    big_fleet(emu)
    root = three_sets(emu, tmp_path / "p")
    named, by_name = reads(
        emu, "plan", str(root), "--device", "lab-arm-007", "--device", "amr-west-300", "--format", "json"
    )
    assert named.exit_code == 0, named.output
    plan = json.loads(named.stdout)
    assert [c["device"] for c in plan["changes"]] == ["amr-west-300", "lab-arm-007"]
    assert sorted(plan["rollouts"]) == ["east", "lab", "west"]  # every set, two devices
    assert by_name["GET /beta/devices"] == 1 and by_name["GET /beta/deployments"] == 1 + 1

    # A pattern needs every device's name (the API filters by exact names only), but
    # deployments are still read for the matching devices only.
    pattern, by_pattern = reads(emu, "plan", str(root), "--device", "lab-arm-00[1-5]", "--format", "json")
    assert [c["device"] for c in json.loads(pattern.stdout)["changes"]] == [
        f"lab-arm-00{i}" for i in range(1, 6)
    ]
    assert by_pattern["GET /beta/devices"] == 9 and by_pattern["GET /beta/deployments"] == 1 + 1

    both, _ = reads(emu, "plan", str(root), "--set", "lab", "--device", "*-00[12]", "--format", "json")
    assert [c["device"] for c in json.loads(both.stdout)["changes"]] == ["lab-arm-001", "lab-arm-002"]


@pytest.mark.parametrize("command", ["plan", "drift", "status", "apply"])
def test_a_selection_glob_matching_nothing_is_an_error_naming_it(
    command: str, emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = three_sets(emu, tmp_path / "p")
    extra = ["--auto-approve"] if command == "apply" else []
    no_set = cli(command, str(root), "--set", "labb", *extra)
    assert no_set.exit_code == 1
    assert "error: --set 'labb' matches no DeploymentSet" in no_set.output
    assert "the DeploymentSets are: east, lab, west" in no_set.output
    no_device = cli(command, str(root), "--set", "lab", "--device", "amr-east-0*", *extra)
    assert no_device.exit_code == 1
    assert (
        "error: --device 'amr-east-0*' matches no device of the selected DeploymentSets" in no_device.output
    )


def test_drift_and_status_of_one_set(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = three_sets(emu, tmp_path / "p")
    drift = cli("drift", str(root), "--set", "lab", "--format", "json")
    assert drift.exit_code == 2
    assert {i["device"] for i in json.loads(drift.stdout)["items"]} == {
        "lab-arm-01",
        "lab-arm-02",
        "lab-arm-03",
    }
    one = cli("drift", str(root), "--device", "amr-west-02", "--format", "json")
    assert [i["device"] for i in json.loads(one.stdout)["items"]] == ["amr-west-02"]
    status = cli("status", str(root), "--set", "west", "--format", "json")
    assert status.exit_code == 0, status.output
    (west,) = json.loads(status.stdout)["sets"]
    assert west["deployment_set"] == "west" and len(west["devices_to_update"]) == 6


def test_apply_one_set_leaves_the_others_alone(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = three_sets(emu, tmp_path / "p")
    applied = cli("apply", str(root), "--set", "lab", "--auto-approve", "--format", "json")
    assert applied.exit_code == 0, applied.output
    out = json.loads(applied.stdout)
    assert [r["deployment_set"] for r in out["rollouts"]] == ["lab"] and out["summary"]["succeeded"] == 3
    after = json.loads(cli("plan", str(root), "--format", "json").stdout)
    left = {c["device"] for c in after["changes"] if c["action"] == "deploy"}
    assert left and not any(d.startswith("lab-") for d in left)
    assert {c["action"] for c in after["changes"] if c["device"].startswith("lab-")} == {"noop"}
    saved = tmp_path / "plan.json"
    saved.write_text(json.dumps(after))
    # A saved plan is cut to whole sets (each rollout as reviewed), never split by device.
    split = cli("apply", str(root), "--plan", str(saved), "--device", "amr-east-01", "--auto-approve")
    assert split.exit_code == 1 and "--device cannot split the saved plan's rollouts" in split.output
    east = cli(
        "apply", str(root), "--plan", str(saved), "--set", "east", "--auto-approve", "--format", "json"
    )
    assert east.exit_code == 0, east.output
    assert [r["deployment_set"] for r in json.loads(east.stdout)["rollouts"]] == ["east"]
    left = {
        c["device"]
        for c in json.loads(cli("plan", str(root), "--format", "json").stdout)["changes"]
        if c["action"] == "deploy"
    }
    assert left and all(d.startswith("amr-west") for d in left)


def test_promote_one_paused_set_only(emu: Harness, tmp_path: Path) -> None:
    """Two sets paused after their canaries: `--promote --set` continues that one; the other
    stays paused for its own review."""
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = tmp_path / "p"
    canary = {"strategy": "canary", "canary_count": 1, "health_check": HEALTH}
    write_project(root, emu, name="lab", groups=("lab",), release="v1.4.2", rollout=canary)
    write_project(root, emu, name="west", groups=("warehouse-west",), release="v1.4.2", rollout=canary)
    first = cli("apply", str(root), "--auto-approve")
    assert first.exit_code == 0, first.output
    assert first.output.count("paused") >= 2
    promoted = cli("apply", str(root), "--promote", "--set", "west", "--format", "json")
    assert promoted.exit_code == 0, promoted.output
    out = json.loads(promoted.stdout)
    assert [(r["deployment_set"], r["status"]["state"]) for r in out["rollouts"]] == [("west", "completed")]
    status = {
        s["deployment_set"]: s["state"]
        for s in json.loads(cli("status", str(root), "--format", "json").stdout)["sets"]
    }
    assert status == {"lab": "paused", "west": "completed"}


def test_device_by_name_plans_with_overrides_of_other_devices(emu: Harness, tmp_path: Path) -> None:
    """`--device NAME` reads that device only: an override naming another device of the set is
    not a typo there (the full run checks it against every device)."""
    asyncio.run(emu.seed(example_fleet()))
    root = tmp_path / "p"
    override = [{"devices": ["amr-east-02"], "configs": {"motion-control": {"values": {"max_speed": 0.5}}}}]
    write_project(root, emu, name="east", groups=("warehouse-east",), extra={"overrides": override})
    one = cli("plan", str(root), "--device", "amr-east-01", "--format", "json")
    assert one.exit_code == 0, one.output
    assert [c["device"] for c in json.loads(one.stdout)["changes"]] == ["amr-east-01"]
    two = cli("plan", str(root), "--device", "amr-east-02")
    assert two.exit_code == 0 and "motion-control.max_speed: 1.0 -> 0.5" in two.stdout
