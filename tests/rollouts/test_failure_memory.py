"""Failure memory in a fleet with many failures: content that failed with nothing rolled back
(`no_auto_rollback`) is held back even after more than a page of newer failures elsewhere.
Each step plans or applies from a fresh working directory against one emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests.loader import load_path
from reconciler.platform.live import read_recent_failures
from tests.apply.helpers import make, platform_for, run, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio
HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}
LAB = {"strategy": "canary", "canary_count": 1, "no_auto_rollback": True, "health_check": HEALTH}
STOP_NOTHING = {"strategy": "immediate", "no_auto_rollback": True, "max_failed_nodes_percent": 100}


async def _failures_read(emu: Harness, root: Path) -> tuple[int, set[str]]:
    """Requests one read of the recent failures costs, and the devices it names."""
    before = (await emu.requests())["by_route"].get("GET /beta/deployments", 0)
    async with platform_for(load_path(root)) as platform:
        found = await read_recent_failures(platform)
    after = (await emu.requests())["by_route"].get("GET /beta/deployments", 0)
    return after - before, {d.device_id for d in found}


def _lab(root: Path, emu: Harness) -> Path:
    return write_project(root, emu, groups=("lab",), release="v1.4.2", rollout=LAB, name="lab")


async def test_a_failed_canary_stays_held_back_after_more_than_a_page_of_newer_failures(
    emu: Harness, tmp_path: Path
) -> None:
    fleet = example_fleet(200, offline=[], spare=False)
    await emu.seed(fleet)
    await emu.patch_device("lab-arm-001", agent={"behaviour": "fail"})
    failed = await run(_lab(tmp_path / "lab-1", emu), await make(_lab(tmp_path / "lab-1", emu)))
    assert failed.records[0].status.state == "failed"
    held = await make(_lab(tmp_path / "lab-2", emu))
    assert "failed on lab-arm-001" in held.rollouts["lab"].held
    requests, _ = await _failures_read(emu, tmp_path / "lab-2")
    assert requests == 1  # fewer than a page of failures: one request

    # 165 newer failures on other devices, written by another set's rollout
    others = [d["name"] for d in fleet["devices"] if not d["name"].startswith("lab-")]
    for name in others:
        await emu.patch_device(name, agent={"behaviour": "fail"})
    rest = write_project(tmp_path / "rest", emu, groups=("fleet",), rollout=STOP_NOTHING, name="rest")
    flood = await run(rest, await make(rest))
    assert sum(1 for e in flood.ledger if e.state == "failed") == len(others) > 100

    lab = _lab(tmp_path / "lab-3", emu)
    requests, devices = await _failures_read(emu, lab)
    assert requests == 10 and len(devices) == len(others) + 1  # ten pages at once, all 166 failures
    again = await make(lab)
    assert "failed on lab-arm-001" in again.rollouts["lab"].held
    left = await run(lab, again)  # the set is left alone: nothing of the content is tried again
    assert left.records == () and left.ledger
    assert all(e.reason.startswith("held back: ") and e.state == "not_attempted" for e in left.ledger)
