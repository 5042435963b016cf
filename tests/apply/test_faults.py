"""Apply under injected faults converges: exactly one new deployment per changed device, no
orphan config instances, and the next plan is empty."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.apply.helpers import config_instances, deployments, make, run, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio

FAULTS = [
    # a burst: the first requests after the rules go in are all rate limited
    {"method": "*", "path": "/beta/*", "status": 429, "times": 4, "retry_after": 0},
    # creates that commit, then answer 500 (the response is "lost")
    {"method": "POST", "path": "/beta/*", "commit_then_fail": True, "rate": 0.05},
    {"method": "*", "path": "/beta/*", "status": 503, "rate": 0.10},
    {"method": "*", "path": "/beta/*", "status": 429, "rate": 0.03},
]


@pytest.mark.slow
async def test_300_devices_under_5xx_commit_then_fail_and_429(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(300, offline=[]))
    root = write_project(tmp_path / "p", emu, rollout={
        "strategy": "rolling", "max_parallel": 100,
        "health_check": {"deadline": "60s", "min_healthy_time": "1s"}})
    plan = await make(root)
    changed = [c for c in plan.changes if c.action == "deploy"]
    assert len(changed) == 300
    instances_before = len(await config_instances(emu))
    await emu.faults(FAULTS, seed=7)
    result = await run(root, plan)
    state = await emu.admin.get("/_emulator/faults")
    fired = [r["fired"] for r in state.json()["rules"]]
    await emu.faults([])
    assert all(n > 0 for n in fired), fired  # every kind of fault really happened
    assert result.exit_code == 0, [e for e in result.ledger if e.state != "succeeded"][:5]
    mine = [d for d in await deployments(emu) if d.description.startswith("reconcile ")]
    per_device = Counter(d.device_id for d in mine)
    assert len(per_device) == 300 and set(per_device.values()) == {1}
    # one new content (max_speed 1.2), created once despite lost responses
    assert len(await config_instances(emu)) == instances_before + plan.summary()["instances_to_create"] == \
        instances_before + 1
    assert not (await make(root)).has_changes
