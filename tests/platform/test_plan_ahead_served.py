"""A plan against a served emulator (another process, over loopback), 450 devices in pages of
100: every device planned early (the plan waits for them here) is kept, and the plan is the same
as one planned only after the read."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.commands import early_reads
from reconciler.model.live import LiveState
from reconciler.plan.ahead import Ahead
from tests.harness import RW_KEY, Harness
from tests.plan.projects import dset, served_emulator, target_url, write_project
from tests.plan.test_scale import seed_fleet


def _plan(root: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["plan", str(root), "--format", "json", "--parallelism", "4"])
    assert result.exit_code in (0, 2), result.stderr
    plan = dict(json.loads(result.stdout))
    return {k: plan[k] for k in ("changes", "instances", "rollouts", "summary")}


def test_devices_planned_during_the_read_make_the_same_plan(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_fleet(emu.db, 450, 3)
    root = write_project(tmp_path / "p", emu.db, {"all.yaml": dset("all", selector="groups: [fleet, lab]")})
    made: list[Ahead] = []
    monkeypatch.setattr(Ahead, "reuse", _spy(Ahead.reuse, made))
    # Every page planned before the plan is made, whatever the timing (the read could outrun
    # the resolution on a loaded machine, and then nothing is planned early).
    monkeypatch.setattr(early_reads.Early, "reuse", _drained(early_reads.Early.reuse))
    monkeypatch.setenv("MIRU_API_KEY", RW_KEY)
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    with served_emulator(Path(emu.db)) as url:
        target_url(root, url)
        early = _plan(root)

        async def nothing_early(self: early_reads.Early, live: LiveState) -> None:
            return None

        monkeypatch.setattr(early_reads.Early, "reuse", nothing_early)
        after = _plan(root)
    assert len(early["changes"]) == 450
    assert early == after
    # Every device was planned early and kept; the second run asked for none.
    assert len(made) == 1 and made[0].reused == 450


def _drained(reuse: Any) -> Any:
    async def drained(self: early_reads.Early, live: LiveState) -> Any:
        ahead, planning = self._ahead, self._planning
        while ahead is not None and planning is not None and not planning.done():
            if ahead._devices is not None and not ahead.waiting:
                break
            await asyncio.sleep(0)  # (a turn of the event loop: the planner runs)
        return await reuse(self, live)

    return drained


def _spy(reuse: Any, made: list[Ahead]) -> Any:
    def spied(self: Ahead, live: LiveState) -> Any:
        made.append(self)
        return reuse(self, live)

    return spied
