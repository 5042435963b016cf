"""`hold: true` in a set's overrides keeps those devices out of rollouts (a robot under repair):
the plan shows them held, apply leaves them alone and does not fail for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.plan.render_text import render_text
from tests.apply.helpers import deployments, make, run, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio


async def test_a_held_device_is_shown_and_left_alone(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={
            "strategy": "canary",
            "canary_count": 1,
            "auto_promote": True,
            "health_check": {"deadline": "30s", "min_healthy_time": "2s"},
        },
        extra={"overrides": [{"devices": ["lab-arm-01"], "hold": True}]},
    )
    plan = await make(root)
    held = next(c for c in plan.changes if c.device == "lab-arm-01")
    assert (held.action, held.reason_code) == ("blocked", "held")
    assert "held by overrides[0] (hold: true)" in render_text(plan)
    # The held device is not the canary: the first device that may roll out is.
    assert plan.rollouts["all"].canaries == ("lab-arm-02",)
    result = await run(root, plan)
    assert result.exit_code == 0
    states = {e.device: (e.state, e.reason_code) for e in result.ledger}
    assert states["lab-arm-01"] == ("not_attempted", "held")
    assert states["lab-arm-02"][0] == states["lab-arm-03"][0] == "succeeded"
    written = {d.device_id for d in await deployments(emu) if d.description.startswith("reconcile ")}
    assert len(written) == 2 and held.device_id not in written


async def test_a_hold_may_sit_beside_a_release_and_removing_it_rolls_the_device_out(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    held = {"overrides": [{"devices": ["lab-arm-02"], "hold": True, "release": "v1.4.1"}]}
    root = write_project(tmp_path / "p", emu, groups=("lab",), extra=held)
    first = await run(root, await make(root))
    assert first.exit_code == 0 and {e.device for e in first.ledger if e.state == "succeeded"} == {
        "lab-arm-01",
        "lab-arm-03",
    }
    root = write_project(tmp_path / "p", emu, groups=("lab",))  # the repair is done
    again = await make(root)
    assert [c.device for c in again.changes if c.action != "noop"] == ["lab-arm-02"]
