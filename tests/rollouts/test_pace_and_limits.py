"""Pace and blast radius: `rollout.max_per_minute` limits starts across waves on the executor's
clock, and across runs (a later apply, from a fresh clone, counts the starts the platform recorded
in the last minute); `limits.max_devices_per_apply` in reconcile.yaml makes a larger apply refuse unless
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

from reconciler.apply.pace import recent_starts
from reconciler.apply.progress import Silent
from reconciler.cli import main
from reconciler.model.enums import Action, ActivityStatus, ErrorStatus, TargetStatus
from reconciler.model.live import LiveDeployment
from reconciler.model.marker import Marker
from reconciler.plan.render_markdown import render_markdown
from reconciler.plan.render_text import render_text
from tests.apply.helpers import deployments, make, run, write_project
from tests.apply.test_cli import validate
from tests.harness import Harness, example_fleet, make_harness

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


class StopAfterSuccess(Silent):
    """`reconcile watch` asked to stop (SIGTERM) once a device has succeeded: the run starts
    no device more and ends with the rollout unfinished."""

    def __init__(self) -> None:
        self.succeeded = 0

    def device(self, deployment_set: str, device: str, state: str, reason: str = "") -> None:
        self.succeeded += state == "succeeded"

    def stop(self) -> bool:
        return self.succeeded > 0


def _in_a_minute(starts: list[float], limit: int) -> bool:
    return all(sum(1 for t in starts if s <= t < s + 60) <= limit for s in starts)


async def test_a_second_run_within_the_minute_counts_the_first_runs_starts(
    emu: Harness, tmp_path: Path
) -> None:
    """Run 1 starts two devices and is stopped; run 2, a fresh working directory 20 seconds
    later, may start one more (3 a minute) and waits for the minute before the rest."""
    await emu.seed(example_fleet(offline=[], spare=False))
    rollout = {"strategy": "rolling", "max_parallel": 2, "max_per_minute": 3, "health_check": HEALTH}
    first = write_project(tmp_path / "run-1", emu, groups=("warehouse-west",), rollout=rollout)
    hook = StopAfterSuccess()
    stopped = await run(first, await make(first), reporter=hook, stop=hook.stop)
    assert stopped.records[0].status.state == "in_progress"
    before = sorted(_created(d) for d in _ours(await deployments(emu)))
    assert len(before) == 2 and before[0] == before[1]
    await emu.tick(20)
    second = write_project(tmp_path / "run-2", emu, groups=("warehouse-west",), rollout=rollout)
    plan = await make(second)
    assert len([c for c in plan.changes if c.action is not Action.NOOP]) == 4
    result = await run(second, plan)
    assert result.exit_code == 0 and result.records[0].status.state == "completed"
    assert result.records[0].id == stopped.records[0].id  # one rollout across both runs
    later = sorted(t for t in (_created(d) for d in _ours(await deployments(emu))) if t > before[0])
    assert len(later) == 4
    # The minute of run 1's starts had room for one more, taken at once; the rest waited for it.
    assert later[0] - before[0] < 60 <= later[1] - before[0]
    assert _in_a_minute(before + later, 3)


async def _beta_requests(emu: Harness, tmp_path: Path, rollout: dict[str, Any]) -> dict[str, int]:
    await emu.seed(example_fleet(offline=[], spare=False))
    root = write_project(tmp_path, emu, groups=("warehouse-west",), rollout=rollout)
    result = await run(root, await make(root))
    assert result.exit_code == 0
    return {k: n for k, n in (await emu.requests())["by_route"].items() if " /beta/" in k}


async def test_counting_the_platforms_recent_starts_costs_no_request(emu: Harness, tmp_path: Path) -> None:
    """The one-writer check reads every device's deployments anyway: the recent starts are
    counted from that read, so a paced rollout sends what an unpaced one does."""
    rolling = {"strategy": "rolling", "max_parallel": 2, "health_check": HEALTH}
    plain = await _beta_requests(emu, tmp_path / "plain", rolling)
    other = make_harness(str(tmp_path / "other.db"))
    try:
        paced = await _beta_requests(other, tmp_path / "paced", {**rolling, "max_per_minute": 100})
    finally:
        other.close()
    assert plain == paced and plain


class _FixedClock:
    poll_interval = 1.0

    def now(self) -> float:
        return 500.0

    def utc(self) -> float:
        return dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC).timestamp()

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("counting starts never waits")


def _dep(description: str, created_at: str) -> LiveDeployment:
    return LiveDeployment(
        id=f"dep-{created_at}",
        device_id="dev-1",
        release_id="rel-1",
        target_status=TargetStatus.DEPLOYED,
        activity_status=ActivityStatus.DEPLOYED,
        error_status=ErrorStatus.NONE,
        status="deployed",
        description=description,
        instance_ids=(),
        created_at=created_at,
    )


async def test_only_this_rollouts_own_starts_of_the_last_minute_count() -> None:
    ours, other = "ro-0123456789ab", "ro-ba9876543210"
    rollback = Marker("all", f"{ours}-rollback", undo=ours, why="budget-crossed").text()
    rows = [
        _dep(Marker("all", ours, wave=1, run="0badcafe").text(), "2026-01-01T00:00:30Z"),  # 30 s ago
        _dep(Marker("all", ours, wave=1).text(), "2026-01-01T00:02:00Z"),  # ahead of the clock: now
        _dep(Marker("all", ours).text(), "2026-01-01T00:00:00Z"),  # a minute ago: free again
        _dep(rollback, "2026-01-01T00:00:50Z"),
        _dep(Marker("all", other).text(), "2026-01-01T00:00:50Z"),
        _dep("deployed by hand", "2026-01-01T00:00:50Z"),
        _dep(Marker("all", ours).text(), "not a time"),
    ]
    found = await recent_starts(ours, {"dev-1": rows, "dev-2": rows}, ["dev-1"], _FixedClock())
    assert found == [470.0, 500.0]


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
