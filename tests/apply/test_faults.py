"""Apply under injected faults converges: exactly one new deployment per changed device, no
orphan config instances, and the next plan is empty.

Faults: 10% 5xx and 5% `commit_then_fail` (the write lands, the answer is a 500) on every
platform route, and bursts of 429: a rule per route apply uses that rate-limits that
route's next requests outright. The bursts are re-armed each time the executor waits
(its clock is wrapped), so they hit every phase of the rollout, not only its start.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import ApplyResult, execute
from reconciler.commands.wiring import EmulatorClock, session
from reconciler.manifests.loader import load_path
from reconciler.model.plan import Plan
from tests.apply.helpers import config_instances, deployments, make, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio
OFFLINE = ["amr-east-007", "amr-west-050", "lab-arm-020"]

# Every route `apply` calls (fnmatch on the path; the first matching rule with budget fires).
ROUTES = [
    ("POST", "/beta/config_instances"),
    ("GET", "/beta/config_instances"),
    ("POST", "/beta/deployments"),
    ("GET", "/beta/deployments"),
    ("POST", "/beta/deployments/*/deploy"),
    ("GET", "/beta/deployments/*"),
    ("GET", "/beta/devices"),
]
BURSTS = [{"method": m, "path": p, "status": 429, "times": 3, "retry_after": 0} for m, p in ROUTES]
FAULTS = [
    *BURSTS,
    {"method": "POST", "path": "/beta/*", "commit_then_fail": True, "rate": 0.05},
    {"method": "*", "path": "/beta/*", "status": 503, "rate": 0.10},
]


class Bursty:
    """The executor's clock, re-arming the 429 bursts before every wait and keeping count
    of what fired."""

    def __init__(self, inner: EmulatorClock, emu: Harness) -> None:
        self.inner, self.emu = inner, emu
        self.poll_interval = inner.poll_interval
        self.fired: Counter[str] = Counter()
        self.rounds = 0

    def now(self) -> float:
        return self.inner.now()

    def utc(self) -> float:
        return self.inner.utc()

    async def collect(self) -> None:
        rules = (await self.emu.admin.get("/_emulator/faults")).json()["rules"]
        for r in rules:
            key = f"{r['method']} {r['path']} {r.get('status')} {r.get('commit_then_fail')}"
            self.fired[key] += r["fired"]

    async def sleep(self, seconds: float) -> None:
        await self.collect()
        self.rounds += 1
        await self.emu.faults(FAULTS, seed=7 + self.rounds)
        await self.inner.sleep(seconds)


async def run_under_faults(root: Path, plan: Plan, emu: Harness) -> tuple[ApplyResult, Bursty]:
    project = load_path(root)
    async with session(project) as wired:
        assert isinstance(wired.clock, EmulatorClock)
        clock = Bursty(wired.clock, emu)
        await emu.faults(FAULTS, seed=7)
        try:
            result = await execute(plan, wired.platform, root=project.root, clock=clock)
        finally:
            await clock.collect()
            await emu.faults([])
    return result, clock


async def used_instance_ids(emu: Harness) -> set[str]:
    deps = await deployments(emu, expand=["config_instances"])
    return {c.id for d in deps for c in d.config_instances or []}


@pytest.mark.slow
@pytest.mark.parametrize("release, action", [("v1.4.1", "deploy"), ("v1.4.2", "upgrade")])
async def test_300_devices_under_5xx_commit_then_fail_and_429_bursts(
    emu: Harness, tmp_path: Path, release: str, action: str
) -> None:
    # three devices offline: their deployments queue (deferred), and polling reads devices
    await emu.seed(example_fleet(300, offline=OFFLINE, spare=False))
    root = write_project(
        tmp_path / "p",
        emu,
        release=release,
        rollout={
            "strategy": "rolling",
            "max_parallel": 100,
            "health_check": {"deadline": "60s", "min_healthy_time": "1s"},
        },
    )
    plan = await make(root)
    assert Counter(c.action for c in plan.changes) == Counter({action: 300})
    instances_before = {i.id for i in await config_instances(emu)}
    result, clock = await run_under_faults(root, plan, emu)

    fired: dict[str, Any] = dict(clock.fired)
    for m, p in ROUTES:
        if action == "deploy" and p.startswith("/beta/deployments/*"):
            continue  # a config patch never deploys a staged deployment or reads one back
        assert fired.get(f"{m} {p} 429 False", 0) >= 3, (m, p, fired)  # a burst on every route
    assert clock.rounds >= 3  # bursts in several phases of the rollout
    assert fired["POST /beta/* None True"] > 0 and fired["* /beta/* 503 False"] > 0, fired
    assert result.exit_code == 0, [e for e in result.ledger if e.state != "succeeded"][:5]
    assert Counter(e.state for e in result.ledger) == Counter({"succeeded": 297, "deferred": 3})

    mine = [d for d in await deployments(emu) if d.description.startswith("reconcile ")]
    per_device = Counter(d.device_id for d in mine)
    assert len(per_device) == 300 and set(per_device.values()) == {1}  # exactly one new per device
    created = {i.id for i in await config_instances(emu)} - instances_before
    assert len(created) == plan.summary()["instances_to_create"] >= 1  # created once despite lost answers
    orphans = {i.id for i in await config_instances(emu)} - await used_instance_ids(emu)
    assert not orphans  # every instance, new or old, is used by a deployment
    assert not (await make(root)).has_changes
