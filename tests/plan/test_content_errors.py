"""`validate --online` reports every content error once, at the line of the wrong value: all
errors of a file (not the first), in every config (not the first config's), a key the schema
does not allow at that key (not 1:1), and never at an override that did not set the value."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from tests.harness import Harness, example_fleet
from tests.plan.projects import dset, write_project

MOTION = """{
  "max_speed": 9,
  "max_accel": 5,
  "max_sped": 1.0,
  "safety": {"estop_timeout_ms": 200, "lidar_zones": ["front"]}
}
"""
LOCALIZATION = "map: warehouse-v3\nparticle_count: 50\nupdate_rate_hz: 10\n"
OVERRIDE = "    - devices: [lab-arm-01]\n      configs:\n        motion-control: {values: {max_accel: 0.4}}\n"


def test_every_content_error_once_at_its_value(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    sets = {"a.yaml": dset("a", selector="groups: [lab]", motion="values: {}", overrides=OVERRIDE)}
    root = write_project(tmp_path / "p", emu.db, sets)
    (root / "configs" / "motion-control.json").write_text(MOTION)
    (root / "configs" / "localization.yaml").write_text(LOCALIZATION)
    result = CliRunner().invoke(main, ["validate", str(root), "--online", "--format", "json"])
    assert result.exit_code == 1
    errors = [p for p in json.loads(result.stdout) if p["severity"] == "error"]
    got = sorted((str(Path(p["file"]).relative_to(root)), p["line"], p["json_path"]) for p in errors)
    assert got == [
        ("configs/localization.yaml", 2, "$.particle_count"),
        ("configs/motion-control.json", 2, "$.max_speed"),
        ("configs/motion-control.json", 3, "$.max_accel"),
        ("configs/motion-control.json", 4, "$.max_sped"),
    ], errors
    sped = next(p for p in errors if p["json_path"] == "$.max_sped")
    assert "'max_sped' is not allowed here" in sped["message"]
