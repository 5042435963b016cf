"""Writes that meet a platform which already did the work: an archive of a deployment that
is already archived (staging again archives the previous staged one) counts as done."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests.loader import load_path
from reconciler.platform import writes
from tests.apply.helpers import Notes, make, platform_for, run, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio
STAGE = {"activation": "stage"}


async def test_archiving_an_archived_deployment_is_done(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(tmp_path / "p", emu, groups=("lab",), release="v1.4.2", extra=STAGE)
    first = await run(root, await make(root))
    staged = first.ledger[0].deployment_id or ""
    sdk = emu.sdk()
    await sdk.deployments.archive(staged)
    async with platform_for(load_path(root)) as platform:
        sent = platform.requests
        res = await writes.archive(platform, staged, device=first.ledger[0].device)
        assert (res.outcome, res.already) == ("done", True)
        assert platform.requests - sent == 2  # the archive (409 invalid_state), one read back
        # the device's deployed deployment is not archived: that refusal is a real failure
        deployed = (
            await sdk.deployments.list(
                device_id=[(await sdk.deployments.retrieve(staged)).device_id], target_status=["deployed"]
            )
        ).data[0]
        res = await writes.archive(platform, deployed.id, device="lab-arm-01")
        assert res.outcome == "failed" and "only staged or drifted" in res.reason


async def test_restage_counts_the_platform_archived_staged_deployment_as_archived(
    emu: Harness, tmp_path: Path
) -> None:
    """Restaging: the platform archives the old staged deployment when the new one is
    staged, so the archive that follows answers 409; the rollout treats it as done."""
    await emu.seed(example_fleet(offline=[]))
    root = write_project(tmp_path / "p", emu, groups=("lab",), release="v1.4.2", extra=STAGE)
    first = await run(root, await make(root))
    write_project(root, emu, groups=("lab",), release="v1.4.2", max_speed=1.3, extra=STAGE)
    plan = await make(root)
    assert {c.action for c in plan.changes} == {"restage"}
    assert {a for c in plan.changes for a in c.archive_ids} == {e.deployment_id for e in first.ledger}
    last_before = (await emu.requests())["requests"][-1]["id"]
    notes = Notes()
    second = await run(root, plan, reporter=notes)
    assert second.exit_code == 0 and {e.state for e in second.ledger} == {"succeeded"}
    assert not [n for n in notes.lines if "could not archive" in n], notes.lines
    log = (await emu.requests())["requests"]
    archives = [r for r in log if r["path"].endswith("/archive")]
    assert len(archives) == 3 and {r["status"] for r in archives} == {409}
    # order: config instances, then deployments, then archives
    kinds = [
        "archive" if r["path"].endswith("/archive") else r["path"].split("/")[2]
        for r in log
        if r["method"] == "POST" and r["path"].startswith("/beta/") and r["id"] > last_before
    ]
    assert kinds == ["config_instances"] + ["deployments"] * 3 + ["archive"] * 3, kinds


class _Sleeps:
    """Stands in for the run's clock as the retries' sleep: records how long it was asked to
    wait, and yields instead (the wait itself is not what is tested)."""

    def __init__(self) -> None:
        import asyncio

        self._asyncio = asyncio
        self.asked: list[float] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._asyncio, name)

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self._asyncio.sleep(0)


async def test_reads_retry_with_jittered_backoff_and_honour_retry_after(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    sleeps = _Sleeps()
    async with platform_for(load_path(root)) as platform:
        platform.sleep = sleeps.sleep  # retries wait through the run's clock, injected
        await emu.faults(
            [{"method": "GET", "path": "/beta/devices", "status": 429, "times": 2, "retry_after": 7}]
        )
        page = await platform.read(lambda: platform.sdk.devices.list(limit=5), what="list devices")
        assert len(page.data) == 5 and sleeps.asked == [7.0, 7.0]  # the platform's Retry-After
        sleeps.asked.clear()
        await emu.faults([{"method": "GET", "path": "/beta/devices", "status": 503, "times": 3}])
        await platform.read(lambda: platform.sdk.devices.list(limit=5), what="list devices")
        assert len(sleeps.asked) == 3
        for attempt, delay in enumerate(sleeps.asked):  # exponential, each with jitter in [50%, 100%]
            assert 0.2 * 2**attempt * 0.5 <= delay <= 0.2 * 2**attempt, sleeps.asked
        await emu.faults([])
