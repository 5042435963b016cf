"""Planning freezes what it read for the cyclic garbage collector while it plans (so the
collections planning triggers do not walk 100,000 devices again and again) and always
unfreezes it, after a plan and after a manifest error alike: nothing stays frozen across the
rounds of `reconcile watch` or the plans of one process. And overrides are matched to their
devices however many there are (resolve matches each override once, not per device)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from reconciler.commands.planning import make_plan
from reconciler.commands.wiring import session
from reconciler.errors import ValidationFailed
from reconciler.manifests.loader import load_path
from tests.harness import Harness, example_fleet
from tests.plan.projects import dset, write_project

pytestmark = pytest.mark.anyio


async def test_a_plan_leaves_nothing_frozen(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(spare=False))
    overrides = "".join(
        f"    - devices: [amr-east-0{i}]\n      configs:\n        motion-control:\n"
        f"          values: {{max_speed: 0.{i}}}\n"
        for i in range(1, 7)
    )
    root = write_project(
        tmp_path / "p", emu.db, {"fleet.yaml": dset("fleet", overrides=overrides)}, enrollment=False
    )
    project = load_path(root)
    async with session(project) as wired:
        plan = await make_plan(project, wired, created_at="")
    assert gc.get_freeze_count() == 0
    speeds = {
        c.device: next(d.new for d in c.config_diffs if str(d.path[-1]) == "max_speed")
        for c in plan.changes
        if c.device.startswith("amr-east-0") and c.config_diffs
    }
    assert {name: speeds.get(name) for name in ("amr-east-01", "amr-east-06")} == {
        "amr-east-01": 0.1,
        "amr-east-06": 0.6,
    }


async def test_a_manifest_error_leaves_nothing_frozen(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(spare=False))
    sets = {"fleet.yaml": dset("fleet", selector="groups: [no-such-group]")}
    project = load_path(write_project(tmp_path / "p", emu.db, sets, enrollment=False))
    async with session(project) as wired:
        with pytest.raises(ValidationFailed) as failed:
            await make_plan(project, wired, created_at="")
    assert "no-such-group" in failed.value.problems[0].message
    assert gc.get_freeze_count() == 0
