"""Devices no DeploymentSet selects, and DeploymentSets removed from the manifests while their
devices keep their config: in plan (text, markdown, JSON) and drift, under reconcile.yaml's
`unmanaged: ignore | warn | error`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import git
import jsonschema
import yaml
from click.testing import CliRunner

from reconciler.cli import main
from tests.apply.helpers import write_project
from tests.harness import Harness, example_fleet
from tests.plan.test_git import commit_all

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
WEST = [f"amr-west-0{i}" for i in range(1, 7)]


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def check(doc: Any, schema: str) -> None:
    jsonschema.Draft202012Validator(json.loads((SCHEMAS / schema).read_text())).validate(doc)


def east_and_lab(emu: Harness, root: Path, *, max_speed: float = 1.2, policy: str | None = None) -> Path:
    """Two sets: warehouse-west's six devices are selected by neither."""
    write_project(root, emu, name="east", groups=("warehouse-east",), max_speed=max_speed)
    write_project(root, emu, name="lab", groups=("lab",), max_speed=max_speed)
    if policy is not None:
        project = yaml.safe_load((root / "reconcile.yaml").read_text())
        (root / "reconcile.yaml").write_text(yaml.safe_dump({**project, "unmanaged": policy}))
    return root


def test_plan_counts_unmanaged_devices_per_group_in_every_format(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = east_and_lab(emu, tmp_path / "p")
    text = cli("plan", str(root))
    assert text.exit_code == 0, text.output
    assert (
        "Warning: 6 devices no DeploymentSet selects: warehouse-west 6 (--verbose lists them)" in text.stdout
    )
    assert "amr-west-01" not in text.stdout
    verbose = cli("plan", str(root), "--verbose")
    assert all(f"  ? {d} (warehouse-west, online)" in verbose.stdout for d in WEST)
    md = cli("plan", str(root), "--format", "markdown", "--verbose").stdout
    assert "**Warning:** 6 devices no DeploymentSet selects: warehouse-west 6" in md
    assert "<summary>Unmanaged devices</summary>" in md and "amr-west-06" in md
    plan = json.loads(cli("plan", str(root), "--format", "json").stdout)  # listed without --verbose
    check(plan, "plan.schema.json")
    u = plan["unmanaged"]
    assert u["policy"] == "warn" and u["count"] == 6 and u["by_group"] == {"warehouse-west": 6}
    assert [d["device"] for d in u["devices"]] == WEST and u["removed_sets"] == []
    # A part of the fleet cannot tell what no set selects: nothing claimed.
    part = json.loads(cli("plan", str(root), "--set", "lab", "--format", "json").stdout)
    assert part["unmanaged"] is None


def test_a_removed_set_is_named_with_the_devices_it_leaves(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = east_and_lab(emu, tmp_path / "p")
    write_project(root, emu, name="rnd-protos", groups=("warehouse-west",))
    applied = cli("apply", str(root), "--set", "rnd-protos", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    (root / "sets" / "rnd-protos.yaml").unlink()
    text = cli("plan", str(root)).stdout
    assert "Warning: rnd-protos removed: 6 devices keep their config and are no longer managed" in text
    md = cli("plan", str(root), "--format", "markdown").stdout
    assert "**Warning:** rnd-protos removed: 6 devices keep their config and are no longer managed" in md
    plan = json.loads(cli("plan", str(root), "--format", "json").stdout)
    assert plan["unmanaged"]["removed_sets"] == [
        {"name": "rnd-protos", "devices": WEST, "found_in": ["platform"]}
    ]
    drift = cli("drift", str(root), "--format", "json")
    check(json.loads(drift.stdout), "drift.schema.json")
    assert json.loads(drift.stdout)["unmanaged"]["removed_sets"][0]["name"] == "rnd-protos"


def test_a_set_removed_since_the_base_ref(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = east_and_lab(emu, tmp_path / "repo")
    write_project(root, emu, name="rnd-protos", groups=("warehouse-west",))
    repo = git.Repo.init(root, initial_branch="main")
    (root / ".gitignore").write_text(".reconcile/\n")
    commit_all(repo, "base")
    (root / "sets" / "rnd-protos.yaml").unlink()
    commit_all(repo, "drop rnd-protos")
    plan = json.loads(cli("plan", str(root), "--base", "HEAD~1", "--format", "json").stdout)
    assert plan["unmanaged"]["removed_sets"] == [
        {"name": "rnd-protos", "devices": WEST, "found_in": ["base"]}
    ]


def test_the_policy_decides_what_drift_says_and_its_exit_code(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = east_and_lab(emu, tmp_path / "p", max_speed=1.0)  # the live content: no drift
    warn = cli("drift", str(root))
    assert warn.exit_code == 0, warn.output
    assert warn.stdout.startswith("No drift: the platform matches the manifests.\nWarning: 6 devices")

    east_and_lab(emu, root, max_speed=1.0, policy="error")
    error = cli("drift", str(root), "--verbose")
    assert error.exit_code == 2
    assert "Error: 6 devices no DeploymentSet selects: warehouse-west 6" in error.stdout
    assert "  ? amr-west-03 (warehouse-west, online)" in error.stdout
    assert json.loads(cli("drift", str(root), "--format", "json").stdout)["unmanaged"]["policy"] == "error"
    # A part of the fleet is not judged on what no set selects.
    assert cli("drift", str(root), "--set", "lab").exit_code == 0

    east_and_lab(emu, root, max_speed=1.0, policy="ignore")
    ignore = cli("drift", str(root))
    assert ignore.exit_code == 0 and "Warning" not in ignore.stdout and "amr-west" not in ignore.stdout
    assert "unmanaged" not in cli("plan", str(root)).stdout


def test_unmanaged_names_are_escaped(emu: Harness, tmp_path: Path) -> None:
    fleet = example_fleet()
    fleet["devices"].append({"name": "evil\x1b]8;;x\x07dev", "group": "warehouse-west", "status": "online"})
    asyncio.run(emu.seed(fleet))
    root = east_and_lab(emu, tmp_path / "p")
    out = cli("plan", str(root), "--verbose").stdout
    assert "\x1b" not in out and "\x07" not in out and "warehouse-west 7" in out
    md = cli("plan", str(root), "--verbose", "--format", "markdown").stdout
    assert "\x1b" not in md and "\x07" not in md and "<summary>Unmanaged devices</summary>" in md
    drift = cli("drift", str(root), "--verbose").stdout
    assert "\x1b" not in drift and "\x07" not in drift and "warehouse-west 7" in drift
