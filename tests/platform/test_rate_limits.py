"""`reconcile plan` rides out rate limits the way apply does: one retry policy, Retry-After
honoured, a total budget, then a clear error. The retries wait on the run's clock, here the
emulator's manual clock, so 30 s of 429s take no wall time: the waits advance it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.platform.retry import BUDGET, CONFIRMING_READS, READS
from tests.harness import Harness, example_fleet
from tests.plan.projects import write_project

pytestmark = pytest.mark.anyio


async def _plan(root: Path) -> Any:
    # The CLI runs its own event loop: in a thread, beside the test's.
    return await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(main, ["plan", str(root), "--format", "json"])
    )


async def _now(emu: Harness) -> float:
    return float((await emu.clock())["epoch"])


async def test_plan_rides_out_30_seconds_of_429s(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet())
    root = write_project(tmp_path / "p", emu.db)
    calm = await _plan(root)
    assert calm.exit_code == 0 and json.loads(calm.stdout)["changes"], calm.output
    start = await _now(emu)
    limit = {"path": "/beta/*", "status": 429, "retry_after": 1, "for_seconds": 30}
    await emu.faults([limit])
    limited = await _plan(root)
    assert limited.exit_code == 0, limited.output
    assert "Traceback" not in limited.output
    # The same plan as without the rate limit (its making time aside).
    assert json.loads(limited.stdout)["changes"] == json.loads(calm.stdout)["changes"]
    (rule,) = (await emu.admin.get("/_emulator/faults")).json()["rules"]
    # Every read met 429s until 30 s had passed on the platform's clock; none was given up.
    assert rule["fired"] >= 5 * 2, rule  # more than the attempts a failure without Retry-After gets
    assert await _now(emu) - start >= 30


async def test_past_the_budget_plan_exits_1_saying_it_was_rate_limited(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet())
    root = write_project(tmp_path / "p", emu.db)
    start = await _now(emu)
    await emu.faults([{"path": "/beta/*", "status": 429, "retry_after": 7}])
    result = await _plan(root)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.output
    assert "HTTP 429" in errors[0] and f"over {BUDGET - BUDGET % 7:.0f} s" in errors[0], errors
    assert "rate limiting" in result.output  # the hint
    assert await _now(emu) - start >= BUDGET - 7


def test_plan_and_apply_share_the_rate_limit_budget() -> None:
    # Plan's reads and apply's reads that confirm a write differ only in how often they try a
    # failure that says nothing of when to come back.
    assert READS.budget == CONFIRMING_READS.budget == BUDGET
    assert READS.attempts < CONFIRMING_READS.attempts
