"""Drift says who, what and when: config and release drift name the live deployment (id,
description, time). With `activation: stage`, a staged deployment waiting for a person does
not hide the live config's differences from the manifests (a dashboard hotfix)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from reconciler.cli import main
from tests.harness import MOTION_CONFIG, Harness, example_fleet
from tests.plan import edits
from tests.plan.projects import REPO, dset, write_project

SCHEMA = json.loads((REPO / "schemas" / "drift.schema.json").read_text())


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def test_config_drift_names_the_live_deployment(emu: Harness, tmp_path: Path) -> None:
    async def setup() -> str:
        await emu.seed(example_fleet(spare=False))
        return await edits.patch(emu.sdk(), "amr-east-03", {**MOTION_CONFIG, "max_speed": 2.5})

    dep = asyncio.run(setup())
    sets = {"all.yaml": dset("all", selector="groups: [fleet, lab]", motion="values: {}")}
    root = write_project(tmp_path / "p", emu.db, sets)
    code, out = run("drift", str(root))
    assert code == 2
    assert f"    amr-east-03: live deployment {dep} ('dashboard edit', 20" in out
    code, js = run("drift", str(root), "--format", "json")
    data = json.loads(js)
    jsonschema.validate(data, SCHEMA)
    (item,) = [i for i in data["items"] if i["kind"] == "config"]
    assert item["deployment_id"] == dep and item["description"] == "dashboard edit" and item["since"]


def test_a_waiting_staged_deployment_does_not_hide_a_hotfix(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    sets = {
        "lab.yaml": dset(
            "lab", selector="groups: [lab]", release="v1.4.2", motion="values: {}", activation="stage"
        )
    }
    root = write_project(tmp_path / "p", emu.db, sets)
    asyncio.run(edits.patch(emu.sdk(), "lab-arm-01", {**MOTION_CONFIG, "max_speed": 0.4}))  # hotfix
    code, out = run("apply", str(root), "--auto-approve")
    assert code == 0, out
    code, plan = run("plan", str(root))
    assert "waiting for someone to deploy it" in plan  # the staged deployments wait
    code, out = run("drift", str(root))
    assert code == 2, out
    assert "config: 1 device: lab-arm-01" in out and "motion-control.max_speed: 0.4 -> 1.0" in out
