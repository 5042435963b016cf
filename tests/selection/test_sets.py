"""`reconcile sets` feeds the sharded workflow's matrix: the workflow's own `jq` turns its JSON
into the list of set names, each shard runs `--set NAME`, and each set applies in its own
concurrency group."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from reconciler.cli import main
from tests.apply.helpers import write_project
from tests.harness import Harness, example_fleet

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "sharded-by-set.yml"


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def project(emu: Harness, root: Path) -> Path:
    write_project(root, emu, name="east", groups=("warehouse-east",))
    write_project(root, emu, name="west-amrs", groups=("warehouse-west",), rollout={"strategy": "rolling"})
    write_project(root, emu, name="lab", groups=("lab",))
    return root


def test_sets_lists_name_selector_and_devices_online(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = project(emu, tmp_path / "p")
    offline = cli("sets", str(root), "--format", "json")
    assert offline.exit_code == 0, offline.output
    doc = json.loads(offline.stdout)
    assert doc["format_version"] == 1
    assert [(s["name"], s["selector"], s["file"]) for s in doc["sets"]] == [
        ("east", {"groups": ["warehouse-east"]}, "sets/east.yaml"),
        ("lab", {"groups": ["lab"]}, "sets/lab.yaml"),
        ("west-amrs", {"groups": ["warehouse-west"]}, "sets/west-amrs.yaml"),
    ]
    assert "devices" not in doc["sets"][0]  # counting needs the platform
    online = json.loads(cli("sets", str(root), "--format", "json", "--online").stdout)
    assert {s["name"]: s["devices"] for s in online["sets"]} == {"east": 9, "lab": 3, "west-amrs": 6}
    text = cli("sets", str(root), "--online").stdout
    assert "west-amrs  groups: warehouse-west  release v1.4.1  rolling  (6 devices)" in text


def test_the_sharded_workflow_builds_its_matrix_from_sets(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = project(emu, tmp_path / "p")
    wf = yaml.safe_load(WORKFLOW.read_text())
    script = next(s["run"] for s in wf["jobs"]["sets"]["steps"] if s.get("id") == "sets")
    assert "reconcile sets fleet --format json > sets.json" in script
    jq = re.search(r"jq -c '([^']+)' sets\.json", script)
    assert jq is not None
    listed = cli("sets", str(root), "--format", "json").stdout
    names = subprocess.run(
        ["jq", "-c", jq.group(1)], input=listed, capture_output=True, text=True, check=True
    )
    matrix = json.loads(names.stdout)
    assert matrix == ["east", "lab", "west-amrs"]
    # Each matrix entry is a shard that plans exactly its set.
    for name in matrix:
        plan = json.loads(cli("plan", str(root), "--set", name, "--format", "json").stdout)
        assert list(plan["rollouts"]) == [name]
    for job in ("plan", "apply"):
        assert wf["jobs"][job]["strategy"]["matrix"]["set"] == "${{ fromJSON(needs.sets.outputs.names) }}"
        step = next(s for s in wf["jobs"][job]["steps"] if s.get("uses") == "your-org/reconciler@v1")
        assert step["with"]["args"].startswith("--set ${{ matrix.set }}")
    assert wf["jobs"]["apply"]["concurrency"] == {
        "group": "reconcile-apply-${{ matrix.set }}",
        "cancel-in-progress": False,
    }
    assert wf["jobs"]["summary"]["needs"] == ["sets", "plan"]
