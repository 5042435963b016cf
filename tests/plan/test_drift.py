"""`reconcile drift` against the emulator: no drift -> exit 0; dashboard edits, staged
deployments nobody asked for, drifted and failed deployments -> exit 2, each reported."""

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
MATCHING = {"all.yaml": dset("all", selector="groups: [fleet, lab]", motion="values: {}")}


def drift(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["drift", str(root), *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_no_drift_exit_0(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    root = write_project(tmp_path / "p", emu.db, MATCHING)
    code, out = drift(root)
    assert code == 0, out
    assert out == "No drift: the platform matches the manifests.\n"
    code, out = drift(root, "--format", "json")
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert data["items"] == [] and code == 0


def test_dashboard_edit_staged_drifted_and_failed(emu: Harness, tmp_path: Path) -> None:
    async def setup() -> None:
        await emu.seed(example_fleet(spare=False))
        sdk = emu.sdk()
        await edits.patch(sdk, "amr-east-03", {**MOTION_CONFIG, "max_speed": 2.5})  # a dashboard edit
        await edits.stage(sdk, "amr-west-01")  # staged, nobody asked for it
        await edits.stage(sdk, "amr-west-02")  # staged, then the device was patched: drifted
        await edits.patch(sdk, "amr-west-02", MOTION_CONFIG)
        await emu.patch_device("amr-west-03", agent={"behaviour": "fail", "delay": 1})
        await edits.patch(sdk, "amr-west-03", {**MOTION_CONFIG, "max_speed": 1.5})
        await emu.tick(5)

    asyncio.run(setup())
    root = write_project(tmp_path / "p", emu.db, MATCHING)
    code, out = drift(root)
    assert code == 2, out
    assert "config: 1 device: amr-east-03" in out
    assert "motion-control.max_speed: 2.5 -> 1.0" in out
    assert "staged: amr-west-01 (all): staged deployment" in out and "not in the manifests" in out
    assert "drifted: amr-west-02 (all)" in out
    assert "failed: amr-west-03 (all): the last deployment" in out
    code, js = drift(root, "--format", "json")
    data = json.loads(js)
    jsonschema.validate(data, SCHEMA)
    kinds = {(i["device"], i["kind"]) for i in data["items"]}
    assert {
        ("amr-east-03", "config"),
        ("amr-west-01", "staged"),
        ("amr-west-02", "drifted"),
        ("amr-west-03", "failed"),
    } <= kinds
    assert data["summary"]["devices"] == len({d for d, _ in kinds})
    assert code == 2


def test_release_drift(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    root = write_project(
        tmp_path / "p",
        emu.db,
        {"lab.yaml": dset("lab", selector="groups: [lab]", release="v1.4.2", motion="values: {}")},
    )
    code, out = drift(root)
    assert code == 2 and "release: 3 devices: lab-arm-01, lab-arm-02, lab-arm-03" in out
    assert "live -> manifests: live v1.4.1, manifests v1.4.2" in out
