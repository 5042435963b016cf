"""SIGKILL `reconcile apply` (a real subprocess, over the db file the test shares) at several
points of a 200-device rollout, rerun it, and get the same result with no duplicates.

Kill points are deterministic: the process runs `reconcile` through `KILLER` below, which
wraps the platform transport the wiring chose in one that SIGKILLs the process right after
its n-th write was answered, before the product sees the answer. Product code has no hook.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from reconciler.apply import record as rec
from reconciler.model.marker import parse as parse_marker
from tests.apply.helpers import config_instances, deployments, is_rollback, make, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio
RECONCILE = str(Path(sys.executable).parent / "reconcile")

# `python -c KILLER N ARGS...` runs `reconcile ARGS...`, killed after its N-th answered write
# (a POST to the platform API: config instance and deployment creates, deploys, archives).
KILLER = """
import dataclasses, os, signal, sys
import httpx
from reconciler.commands import wiring

class KillAtWrite(httpx.AsyncBaseTransport):
    def __init__(self, inner, n):
        self.inner, self.n, self.writes = inner, n, 0

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        if request.method != "GET" and request.url.path.startswith("/beta/"):
            self.writes += 1
            if self.writes >= self.n:
                os.kill(os.getpid(), signal.SIGKILL)
        return response

    async def aclose(self):
        await self.inner.aclose()

n = int(sys.argv[1])
chosen = wiring.endpoint

def killing(*args, **kwargs):
    ep = chosen(*args, **kwargs)
    return dataclasses.replace(ep, transport=KillAtWrite(ep.transport or httpx.AsyncHTTPTransport(), n))

wiring.endpoint = killing
from reconciler.cli import main
sys.argv = ["reconcile", *sys.argv[2:]]
main()
"""


def rollout_of(description: str) -> str | None:
    m = parse_marker(description)
    return None if m is None else m.rollout


def reconcile_apply(
    root: Path, *args: str, kill_after: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`reconcile apply ROOT --auto-approve ARGS` in a process of its own, SIGKILLed after its
    `kill_after`-th answered write when given."""
    command = [RECONCILE] if kill_after is None else [sys.executable, "-c", KILLER, str(kill_after)]
    return subprocess.run(
        [*command, "apply", str(root), "--auto-approve", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def apply_process(root: Path, plan_file: Path, kill_after: int | None) -> subprocess.CompletedProcess[str]:
    return reconcile_apply(root, "--plan", str(plan_file), "--format", "json", kill_after=kill_after)


@pytest.mark.slow
async def test_sigkill_at_several_points_then_rerun_converges(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(200, offline=[], spare=False))
    root = write_project(
        tmp_path / "p",
        emu,
        rollout={
            "strategy": "rolling",
            "max_parallel": 50,
            "health_check": {"deadline": "60s", "min_healthy_time": "1s"},
        },
    )
    plan = await make(root)
    assert plan.summary()["deploy"] == 200
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_dict()))
    instances_before = len(await config_instances(emu))

    # 1: right after the config instance was created; 30: inside wave 1; 45: the rerun's
    # 20 remaining wave-1 writes plus 25 of wave 2; 60: late in the rollout.
    for kill_after in (1, 30, 45, 60):
        killed = apply_process(root, plan_file, kill_after)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    done = apply_process(root, plan_file, None)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["summary"]["succeeded"] == 200 and out["rollouts"][0]["status"]["state"] == "completed"

    mine = [d for d in await deployments(emu) if d.description.startswith("reconcile ")]
    assert len(mine) == 200 and set(Counter(d.device_id for d in mine).values()) == {1}
    assert len({rollout_of(d.description) for d in mine}) == 1  # one rollout id across all the runs
    assert len(await config_instances(emu)) == instances_before + 1
    assert not (await make(root)).has_changes
    # A further rerun of the same plan finds the completed record and writes nothing.
    again = apply_process(root, plan_file, 1)
    assert again.returncode == 0, again.stderr[-2000:]


@pytest.mark.slow
async def test_sigkill_during_rollback_then_rerun_finishes_it_once(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    root = write_project(
        tmp_path / "p",
        emu,
        rollout={
            "strategy": "rolling",
            "max_parallel": 3,
            "max_failed_nodes": 1,
            "health_check": {"deadline": "30s", "min_healthy_time": "1s"},
        },
    )
    plan = await make(root)
    order = [c.device for c in plan.changes]
    for name in order[6:8]:
        await emu.patch_device(name, agent={"behaviour": "fail"})
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_dict()))
    # writes: 1 config instance + 9 creates (waves 1-3), then 7 rollbacks (waves 1-2 and
    # the one wave-3 device that took it); die after the 3rd rollback write
    killed = apply_process(root, plan_file, 13)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    (record_file,) = (root / ".reconcile" / "rollouts").glob("ro-*.json")
    # The record as read back (the file and its journal of changes since).
    saved = rec.load(root, record_file.stem)
    assert saved is not None and saved.status.rolling_back is True
    done = apply_process(root, plan_file, None)
    assert done.returncode == 1, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["rollouts"][0]["status"]["state"] == "failed"
    assert out["summary"] == {
        "succeeded": 0,
        "failed": 2,
        "rolled_back": 7,
        "rollback_issued": 0,
        "deferred": 0,
        "stale": 0,
        "not_attempted": 8,
    }
    rollbacks = [d for d in await deployments(emu) if is_rollback(d.description)]
    assert len(rollbacks) == 7 and len({d.device_id for d in rollbacks}) == 7


@pytest.mark.slow
async def test_fresh_plan_after_a_crashed_upgrade_deploys_the_staged_one(
    emu: Harness, tmp_path: Path
) -> None:
    """Killed between staging and deploying: a new plan (not the saved one) lists the staged
    deployment for archiving; apply recognises it as its own and deploys it, no duplicate."""
    await emu.seed(example_fleet(offline=[], spare=False))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        release="v1.4.2",
        rollout={
            "strategy": "rolling",
            "max_parallel": 1,
            "health_check": {"deadline": "30s", "min_healthy_time": "1s"},
        },
    )
    # writes: the motion-control v2 instance, then lab-arm-01's staged create; die there
    killed = reconcile_apply(root, kill_after=2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    staged = [d for d in await deployments(emu) if d.description.startswith("reconcile ")]
    assert [d.target_status for d in staged] == ["staged"]
    replan = await make(root)
    assert staged[0].id in next(c for c in replan.changes if c.device == "lab-arm-01").archive_ids
    done = reconcile_apply(root)
    assert done.returncode == 0, done.stderr[-2000:]
    mine = [d for d in await deployments(emu) if d.description.startswith("reconcile ")]
    assert len(mine) == 3 and set(Counter(d.device_id for d in mine).values()) == {1}
    assert staged[0].id in {d.id for d in mine}
    assert not (await make(root)).has_changes


async def test_a_crashed_rollout_is_seen_and_resumed_from_a_fresh_clone(emu: Harness, tmp_path: Path) -> None:
    """Killed mid-rollout in one checkout: a fresh clone (no `.reconcile/`) sees it on the
    platform, refuses to race it while its writes are recent, and resumes it once its health
    deadline has passed, in the same rollout and with no duplicate deployment."""
    await emu.seed(example_fleet(offline=[], spare=False))
    rollout = {
        "strategy": "rolling",
        "max_parallel": 1,
        "health_check": {"deadline": "30s", "min_healthy_time": "1s"},
    }
    first = write_project(tmp_path / "a", emu, groups=("lab",), rollout=rollout)
    killed = reconcile_apply(first, kill_after=2)  # the config instance, then lab-arm-01's deployment
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    fresh = write_project(tmp_path / "b", emu, groups=("lab",), rollout=rollout)
    assert not (fresh / ".reconcile").exists()
    status = subprocess.run(
        [RECONCILE, "status", str(fresh), "--format", "json"], capture_output=True, text=True
    )
    assert status.returncode == 0, status.stderr
    (shown,) = json.loads(status.stdout)["sets"]
    assert shown["rollout"] and shown["devices_to_update"], shown

    refused = reconcile_apply(fresh)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "another apply is rolling out" in refused.stderr and "commit none" in refused.stderr
    await emu.tick(31)  # the crashed run's health deadline passes: it is abandoned, not running
    done = reconcile_apply(write_project(tmp_path / "c", emu, groups=("lab",), rollout=rollout))
    assert done.returncode == 0, done.stderr[-2000:]
    mine = [d for d in await deployments(emu) if rollout_of(d.description)]
    assert len(mine) == 3 and set(Counter(d.device_id for d in mine).values()) == {1}
    assert {rollout_of(d.description) for d in mine} == {shown["rollout"]}
    assert not (await make(first)).has_changes
