"""A stale device's reason in the user's words: what the device holds now ("changed since
the plan: now on release v1.4.1, deployment <id> ('by hand')"), not the platform's raw
409 or 422 text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apply.helpers import make, run, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio


async def test_a_device_deployed_by_hand_since_the_plan_says_what_it_runs_now(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    plan = await make(root)
    sdk = emu.sdk()
    cur = await sdk.deployments.retrieve(plan.changes[1].parent_token or "", expand=["config_instances"])
    mine = await sdk.deployments.create(
        device_id=cur.device_id,
        release_id=cur.release_id,
        description="by hand",
        config_instance_ids=[c.id for c in cur.config_instances or []],
        target_status="deployed",
        parent_id=cur.id,
    )
    result = await run(root, plan)
    (stale,) = [e for e in result.ledger if e.state == "stale"]
    assert stale.device == "lab-arm-02"
    assert stale.reason == f"changed since the plan: now on release v1.4.1, deployment {mine.id} ('by hand')"
    assert "HTTP" not in stale.reason and "parent_id" not in stale.reason
