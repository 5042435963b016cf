"""`plan --base` attributes each field: a device whose diff both carries this branch's change
and reverts a dashboard hotfix is `[change + drift]`, each line says which it is, and
blocked devices get no such tag."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

import git
import jsonschema
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.harness import Harness, example_fleet
from tests.plan.projects import REPO, dset, write_project


def commit_all(repo: git.Repo, message: str) -> None:
    repo.git.add(A=True)
    who = git.Actor("t", "t@example.com")
    repo.index.commit(message, author=who, committer=who)


def sets(lab_speed: float) -> dict[str, str]:
    return {
        "lab.yaml": dset("lab", selector="groups: [lab]", motion=f"values: {{max_speed: {lab_speed}}}"),
        "east.yaml": dset("east", selector="groups: [warehouse-east]", motion="values: {max_speed: 1.0}"),
    }


@pytest.fixture
def project(emu: Harness, tmp_path: Path) -> Path:
    seed = example_fleet()
    for dev in seed["devices"]:  # dashboard hotfixes of max_accel, outside git
        if dev["name"] in ("lab-arm-01", "amr-east-01"):
            dev["configs"] = copy.deepcopy(dev["configs"])  # the seed shares one dict
            dev["configs"]["motion-control"]["max_accel"] = 0.3
    asyncio.run(emu.seed(seed))
    root = write_project(tmp_path / "repo", emu.db, sets(1.0))
    (root / ".gitignore").write_text(".reconcile/\n")
    r = git.Repo.init(root, initial_branch="main")
    commit_all(r, "base")
    r.git.checkout("-b", "faster")
    write_project(root, emu.db, sets(1.2))
    commit_all(r, "lab arms faster")
    return root


def test_each_field_is_attributed(project: Path) -> None:
    result = CliRunner().invoke(main, ["plan", str(project), "--base", "main", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, json.loads((REPO / "schemas" / "plan.schema.json").read_text()))
    got = {c["device"]: c for c in data["changes"]}
    assert got["lab-arm-01"]["origin"] == "change + drift"
    assert got["lab-arm-01"]["drift_fields"] == [["motion-control", "default", "max_accel"]]
    assert got["lab-arm-02"]["origin"] == "change" and got["lab-arm-02"]["drift_fields"] == []
    assert got["amr-east-01"]["origin"] == "drift"
    assert got["amr-spare-01"]["action"] == "blocked" and got["amr-spare-01"]["origin"] is None

    text = CliRunner().invoke(main, ["plan", str(project), "--base", "main"]).stdout
    assert "~ deploy 1 device: lab-arm-01  [change + drift]" in text
    assert "motion-control.max_accel: 0.3 -> 0.5  [drift]" in text
    assert "motion-control.max_speed: 1.0 -> 1.2  [change]" in text
    assert "~ deploy 1 device: amr-east-01  [drift]" in text
    assert "no agent to deploy to\n" in text  # the blocked device: no tag
    md = CliRunner().invoke(main, ["plan", str(project), "--base", "main", "--format", "markdown"]).stdout
    assert "lab: deploy 1 device" in md and "[change + drift]" in md
    assert "`motion-control.max_accel: 0.3 -> 0.5  [drift]`" in md
