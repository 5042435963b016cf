"""Requests in flight (`reconcile apply --parallelism N`), a platform that answers 429 with
Retry-After under that parallelism, and saves that write only the devices that changed."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from reconciler.apply import record as rec
from reconciler.apply.executor import execute
from reconciler.cli import main
from reconciler.commands.planning import make_plan
from reconciler.commands.wiring import session
from reconciler.manifests.loader import load_path
from reconciler.model.marker import parse as parse_marker
from reconciler.platform import converge, writes
from reconciler.platform.client import DEFAULT_CONCURRENCY, connect
from reconciler.platform.retry import Sleep
from tests.apply.helpers import make, run, write_project
from tests.harness import BASE, RW_KEY, Harness, example_fleet, items

pytestmark = pytest.mark.anyio


class Waits:
    """The platform's injected sleep: keeps every wait it is asked for, passes it on to `then`
    (the run's clock) and, while `held` is clear, makes waits of `block` seconds wait for the
    test instead."""

    def __init__(self, block: float | None = None, then: Sleep | None = None) -> None:
        self.asked: list[float] = []
        self.block, self.then = block, then
        self.held = asyncio.Event()
        self.held.set()

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        if seconds == self.block:
            await self.held.wait()
        await (self.then or _yield)(seconds)


async def _yield(seconds: float) -> None:
    await asyncio.sleep(0)


class InFlight(httpx.AsyncBaseTransport):
    """Counts the requests in flight through it (the most at once, and every one sent)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.now, self.most, self.sent = inner, 0, 0, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.sent += 1
        self.most = max(self.most, self.now)
        try:
            # Let every other ready request in before answering: requests start one per loop
            # pass (`paging.gathered`), so a few passes, not one.
            for _ in range(20):
                await asyncio.sleep(0)
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= 1


async def test_parallelism_bounds_reads_and_writes_alike(emu: Harness) -> None:
    counted = InFlight(httpx.ASGITransport(app=emu.app))
    async with connect(f"{BASE}/beta", api_key=RW_KEY, transport=counted, concurrency=3) as platform:
        ids = [f"dpl_{i:04d}" for i in range(1000)]  # 10 reads of 100 ids, gathered at once
        assert await writes.deployments_by_id(platform, ids) == {}
        assert (counted.sent, counted.most) == (10, 3)


async def test_a_429_with_retry_after_pauses_every_request_until_it_has_passed(emu: Harness) -> None:
    await emu.seed(example_fleet(offline=[]))
    waits = Waits(block=7.0)
    async with connect(
        f"{BASE}/beta", api_key=RW_KEY, transport=httpx.ASGITransport(app=emu.app)
    ) as platform:
        platform.sleep = waits.sleep  # the injected sleep (the run's clock in a real run)
        await emu.faults(
            [{"method": "GET", "path": "/beta/devices", "status": 429, "retry_after": 7, "times": 1}]
        )
        waits.held.clear()
        refused = asyncio.create_task(
            platform.read(lambda: platform.sdk.devices.list(limit=5), what="list devices")
        )
        for _ in range(50):
            await asyncio.sleep(0)
        assert waits.asked == [7.0, 7.0]  # the refused read waits, and so does every other request
        other = asyncio.create_task(platform.read(lambda: platform.sdk.releases.list(), what="list releases"))
        for _ in range(20):
            await asyncio.sleep(0)
        logged = (await emu.requests())["requests"]
        assert [r["status"] for r in logged if r["path"].startswith("/beta")] == [429]  # nothing else sent
        assert not other.done()
        waits.held.set()  # Retry-After has passed
        assert len((await refused).data) == 5 and len((await other).data) > 0
        logged = (await emu.requests())["requests"]
        assert sorted(r["status"] for r in logged if r["path"].startswith("/beta")) == [200, 200, 429]


async def test_apply_under_429_bursts_at_parallelism_loses_and_duplicates_nothing(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(60, offline=[], spare=False, delay=0.0))
    root = write_project(tmp_path / "p", emu, rollout={"strategy": "immediate"})
    project = load_path(root)
    burst = {"method": "POST", "path": "/beta/deployments", "status": 429, "retry_after": 4, "times": 12}
    async with session(project, parallelism=16) as wired:
        waits = Waits(then=wired.clock.sleep)  # the emulator's manual clock: no real sleeping
        wired.platform.sleep = waits.sleep
        plan = await make_plan(project, wired)
        await emu.faults([burst])
        result = await execute(plan, wired.platform, root=project.root, clock=wired.clock)
    assert (await emu.admin.get("/_emulator/faults")).json()["rules"][0]["fired"] == 12
    logged = (await emu.requests())["requests"]
    creates = Counter(
        r["status"] for r in logged if r["method"] == "POST" and r["path"] == "/beta/deployments"
    )
    assert creates[429] == 12 and sum(n for st, n in creates.items() if st < 300) == 60, creates
    assert [e.state for e in result.ledger] == ["succeeded"] * 60
    # Exactly one deployment of this rollout per device: none lost, none written twice.
    sdk, rows, offset = emu.sdk(), [], 0
    while True:
        page = await sdk.deployments.list(limit=100, offset=offset)
        rows += items(page)
        offset += 100
        if not page.has_more:
            break
    ours = Counter(
        d["device_id"]
        for d in rows
        if (m := parse_marker(d.get("description") or "")) is not None and m.rollout == result.records[0].id
    )
    assert len(ours) == 60 and set(ours.values()) == {1}
    # Every wait after a refusal was the platform's Retry-After, never shorter, never a guess:
    # each refused create's own, and the pause of every other request (besides the settling
    # wait of a created config instance).
    retried = [w for w in waits.asked if w != converge.SETTLE]
    assert set(retried) == {4.0} and len(retried) >= 12 + 1, waits.asked


async def test_a_save_writes_only_the_devices_that_changed(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await emu.seed(example_fleet(12, offline=[], spare=False, delay=0.0))
    rollout = {"strategy": "rolling", "max_parallel": 3, "health_check": {"min_healthy_time": "1s"}}
    root = write_project(tmp_path / "p", emu, rollout=rollout)
    saves: list[list[str]] = []
    original = rec.append

    def append(root: Path, record: rec.RolloutRecord, changed: Any, devices: Any, **kw: Any) -> Any:
        changed = list(changed)
        saves.append([e.device for e in changed])
        return original(root, record, changed, devices, **kw)

    monkeypatch.setattr(rec, "append", append)
    result = await run(root, await make(root))
    assert [e.state for e in result.ledger] == ["succeeded"] * 12
    assert sorted(saves[0]) == sorted(e.device for e in result.ledger)  # the first save: every device, once
    assert all(len(s) <= 3 for s in saves[1:])  # then what changed: a window of 3 at a time
    assert any(s for s in saves[1:]) and all(len(s) == len(set(s)) for s in saves)
    # Each device: written when it started (in flight) and when it finished, nothing more.
    assert Counter(n for s in saves[1:] for n in s) == Counter({e.device: 2 for e in result.ledger})
    loaded = rec.load(root, result.records[0].id)
    assert loaded is not None and loaded.devices == result.records[0].devices


def test_apply_help_names_parallelism_and_its_default() -> None:
    out = CliRunner().invoke(main, ["apply", "--help"]).output
    assert "--parallelism" in out and f"default: {DEFAULT_CONCURRENCY}" in out
    bad = CliRunner().invoke(main, ["apply", ".", "--parallelism", "0"])
    assert bad.exit_code != 0 and "--parallelism" in bad.output


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_reads_take_parallelism_too(command: str, emu: Harness, tmp_path: Path) -> None:
    """`plan` and `drift` read the whole fleet: a platform with a low rate limit needs them
    gentler too, the same option as apply's."""
    out = " ".join(CliRunner().invoke(main, [command, "--help"]).output.split())  # as wrapped
    assert "--parallelism" in out and f"default: {DEFAULT_CONCURRENCY}" in out
    bad = CliRunner().invoke(main, [command, ".", "--parallelism", "0"])
    assert bad.exit_code != 0 and "--parallelism" in bad.output
    asyncio.run(emu.seed(example_fleet()))
    root = write_project(tmp_path / "p", emu)
    one = CliRunner().invoke(main, [command, str(root), "--parallelism", "1", "--format", "json"])
    assert one.exit_code in (0, 2), one.output  # 2: changes found (drift)
    assert '"changes"' in one.output or '"items"' in one.output
