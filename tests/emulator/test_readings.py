"""Representative product scenarios (plan, apply immediate with a release upgrade and a device's
first deployment, drift) under every combination of the platform switches (docs/emulator.md,
"Platform switches"); the product passes under every one. The whole apply, plan and drift suite also runs under one switch at a time with RECONCILE_EMULATOR_PLATFORM."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.apply.helpers import make, run, write_project
from tests.harness import MOTION_CONFIG, Harness, example_fleet
from tests.plan import edits

pytestmark = pytest.mark.anyio

AXES: dict[str, tuple[str, ...]] = {
    "first_deploy": ("deployed", "staged_only"),
    "current_switch": ("create", "confirm"),
    "ids": ("time_ordered", "random"),
    "sort_ties": ("id_last_direction", "id_asc"),
    "timestamps": ("auto", "seconds", "milliseconds", "microseconds"),
}


def _combinations() -> list[Any]:
    out = []
    for values in itertools.product(*AXES.values()):
        switches = dict(zip(AXES, values, strict=True))
        out.append(pytest.param(switches, id="-".join(values)))
    return out


async def _platform(emu: Harness, switches: dict[str, str]) -> None:
    r = await emu.admin.post("/_emulator/platform", json=switches)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("switches", _combinations())
async def test_plan_apply_and_drift(emu: Harness, tmp_path: Path, switches: dict[str, str]) -> None:
    await _platform(emu, switches)
    fleet = example_fleet(3, offline=[], spare=False)
    fleet["devices"].append({"name": "lab-arm-new", "group": "lab", "status": "online"})  # no release yet
    await emu.seed(fleet)
    root = write_project(tmp_path / "p", emu, release="v1.4.2", groups=("fleet", "lab"))

    plan = await make(root)
    assert plan.has_changes
    result = await run(root, plan)
    states = {e.device: e.state for e in result.ledger}
    assert states["lab-arm-new"] == "succeeded", result.ledger
    assert result.exit_code == 0, result.ledger
    await emu.tick(5)
    assert not (await make(root)).has_changes

    await edits.patch(emu.sdk(), "lab-arm-01", {**MOTION_CONFIG, "max_speed": 2.5}, version="v1.4.2")
    await emu.tick(5)
    # The CLI runs its own event loop: from a thread, not inside this test's loop.
    drift = await asyncio.to_thread(CliRunner().invoke, main, ["drift", str(root)], catch_exceptions=False)
    assert drift.exit_code == 2, drift.stdout
    assert "lab-arm-01" in drift.stdout
