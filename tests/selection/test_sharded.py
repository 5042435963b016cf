"""A fleet sharded across CI runners: two DeploymentSets applied by two processes at once
against one platform (the emulator served over loopback). Both converge; neither touches the
other's devices, and the third set is left for its own shard."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.model.marker import parse
from tests.apply.helpers import write_project
from tests.harness import RW_KEY, Harness, example_fleet, make_harness
from tests.plan.projects import served_emulator


def reconcile(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from reconciler.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_sets_applied_at_once_by_two_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "served.db"
    seeding: Harness = make_harness(str(db))
    asyncio.run(seeding.seed(example_fleet(offline=[], delay=0.2)))
    seeding.close()
    root = tmp_path / "p"
    unused = make_harness(str(tmp_path / "unused.db"))  # the project's own target is never used
    write_project(root, unused, name="east", groups=("warehouse-east",), rollout={"strategy": "immediate"})
    write_project(
        root,
        unused,
        name="west",
        groups=("warehouse-west",),
        rollout={"strategy": "rolling", "max_parallel": 2},
    )
    write_project(root, unused, name="lab", groups=("lab",))
    unused.close()
    env = {**os.environ, "MIRU_API_KEY": RW_KEY, "NO_COLOR": "1"}
    env.pop("MIRU_BASE_URL", None)
    with served_emulator(db) as url:
        base = f"{url}/beta"
        shards = {
            name: reconcile(
                "apply",
                str(root),
                "--set",
                name,
                "--auto-approve",
                "--format",
                "json",
                "--base-url",
                base,
                env=env,
            )
            for name in ("east", "west")
        }
        outputs = {name: p.communicate(timeout=240) for name, p in shards.items()}
        for name, p in shards.items():
            assert p.returncode == 0, outputs[name][1]
        for name, (out, _) in outputs.items():
            result = json.loads(out)
            assert [r["deployment_set"] for r in result["rollouts"]] == [name]
            assert result["summary"]["failed"] == 0
        # east has 8 devices (amr-spare-01 never enrolled: blocked, not attempted), west 6
        assert json.loads(outputs["east"][0])["summary"]["succeeded"] == 8
        assert json.loads(outputs["west"][0])["summary"]["succeeded"] == 6

        monkeypatch.setenv("MIRU_API_KEY", RW_KEY)
        after = CliRunner().invoke(main, ["plan", str(root), "--format", "json", "--base-url", base])
    assert after.exit_code == 0, after.stderr
    plan = json.loads(after.stdout)
    actions = {(c["deployment_set"], c["action"]) for c in plan["changes"]}
    assert actions == {("east", "noop"), ("east", "blocked"), ("west", "noop"), ("lab", "deploy")}

    # Every deployment written carries its own set's marker: no shard wrote to the other's devices.
    reader = make_harness(str(db))
    try:
        page = asyncio.run(reader.http().get("/deployments", params={"limit": 100, "expand": "device"}))
        marked = 0
        for dep in page.json()["data"]:
            m = parse(dep.get("description"))
            if m is not None:
                group = "east" if dep["device"]["name"].startswith("amr-east") else "west"
                assert m.deployment_set == group, dep
                marked += 1
        assert marked == 14
    finally:
        reader.close()
