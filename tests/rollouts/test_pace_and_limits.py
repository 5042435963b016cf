"""Pace and blast radius: `rollout.max_per_minute` limits starts across waves on the executor's
clock; `limits.max_devices_per_apply` in reconcile.yaml makes a larger apply refuse unless
`--allow-large N` covers it; both are shown in the plan."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.plan.render_markdown import render_markdown
from reconciler.plan.render_text import render_text
from tests.apply.helpers import deployments, make, run, write_project
from tests.apply.test_cli import validate
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio
HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}


def _ours(deps: list[Any]) -> list[Any]:
    return [d for d in deps if d.description.startswith("reconcile ")]


def _created(dep: Any) -> float:
    value = dep.created_at
    at = (
        value
        if isinstance(value, dt.datetime)
        else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return at.timestamp()


async def test_max_per_minute_paces_starts_across_waves(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    root = write_project(
        tmp_path / "p",
        emu,
        rollout={"strategy": "rolling", "max_parallel": 4, "max_per_minute": 5, "health_check": HEALTH},
    )
    plan = await make(root)
    assert plan.rollouts["all"].spec.max_per_minute == 5
    assert "4 at a time: 17 devices in 5 waves; at most 5 device(s) started a minute" in render_text(plan)
    result = await run(root, plan)
    assert result.exit_code == 0 and {e.state for e in result.ledger} == {"succeeded"}
    starts = sorted(_created(d) for d in _ours(await deployments(emu)))
    assert len(starts) == 17
    # No minute holds more than five starts, and the rollout really waited (17 starts > 3 minutes).
    assert all(sum(1 for t in starts if s <= t < s + 60) <= 5 for s in starts)
    assert starts[-1] - starts[0] >= 180


async def test_without_max_per_minute_the_whole_window_starts_at_once(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    root = write_project(tmp_path / "p", emu, rollout={"strategy": "immediate"})
    result = await run(root, await make(root))
    starts = sorted(_created(d) for d in _ours(await deployments(emu)))
    assert result.exit_code == 0 and starts[-1] - starts[0] < 60


def _limited(root: Path, limit: int) -> None:
    cfg = yaml.safe_load((root / "reconcile.yaml").read_text())
    cfg["limits"] = {"max_devices_per_apply": limit}
    (root / "reconcile.yaml").write_text(yaml.safe_dump(cfg))


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_an_apply_above_the_limit_refuses_unless_allow_large_covers_it(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    _limited(root, 2)
    planned = _cli("plan", str(root), "--format", "json")
    data = json.loads(planned.stdout)
    validate(data, "plan.schema.json")
    assert data["limits"] == {"max_devices_per_apply": 2, "devices": 3}
    text = _cli("plan", str(root)).stdout
    assert "Limit: this plan changes 3 devices, more than the 2 per apply" in text
    assert "--allow-large 3" in text
    refused = _cli("apply", str(root), "--auto-approve")
    assert (
        refused.exit_code == 1
        and "would change 3 devices, more than limits.max_devices_per_apply (2)" in (refused.output)
    )
    too_few = _cli("apply", str(root), "--auto-approve", "--allow-large", "2")
    assert too_few.exit_code == 1 and "--allow-large 2 is fewer" in too_few.output
    assert _ours(asyncio.run(deployments(emu))) == []  # nothing was written
    allowed = _cli("apply", str(root), "--auto-approve", "--allow-large", "3")
    assert allowed.exit_code == 0, allowed.output
    assert len(_ours(asyncio.run(deployments(emu)))) == 3


def test_a_plan_within_the_limit_says_so_and_applies(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    _limited(root, 5)
    plan = asyncio.run(make(root))
    assert plan.max_devices_per_apply == 5
    assert "Limit: this plan changes 3 of at most 5 devices per apply" in render_markdown(plan)
    assert _cli("apply", str(root), "--auto-approve").exit_code == 0
