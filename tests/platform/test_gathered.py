"""`paging.gathered`: the requests of a list or of a chunked filter start one per event-loop
pass (started together, each sent its request in the same pass: 50 ms of loop held at 32 in
flight), come back in order, and one failure cancels the rest."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.platform.paging import gathered


class Ticks:
    """Counts event-loop passes while it runs."""

    def __init__(self) -> None:
        self.now = 0
        self.running = True

    async def run(self) -> None:
        while self.running:
            self.now += 1
            await asyncio.sleep(0)


async def _starts(gather_all: bool) -> tuple[list[int], list[int]]:
    ticks = Ticks()
    ticker = asyncio.create_task(ticks.run())
    await asyncio.sleep(0)
    started: list[int] = []

    async def request(n: int) -> int:
        started.append(ticks.now)
        await asyncio.sleep(0)
        return n

    requests = (request(n) for n in range(20))
    results = list(await asyncio.gather(*requests)) if gather_all else await gathered(requests)
    ticks.running = False
    await ticker
    return started, results


@pytest.mark.anyio
async def test_each_request_starts_in_a_loop_pass_of_its_own() -> None:
    started, results = await _starts(gather_all=False)
    assert results == list(range(20))
    assert len(set(started)) == 20


@pytest.mark.anyio
async def test_asyncio_gather_starts_them_all_in_one_pass() -> None:
    """What `gathered` is for: with gather, every first step runs in the same pass."""
    started, results = await _starts(gather_all=True)
    assert results == list(range(20))
    assert len(set(started)) == 1


@pytest.mark.anyio
async def test_a_failure_cancels_the_others() -> None:
    never = asyncio.Event()
    cancelled: list[int] = []

    async def waits(n: int) -> int:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    async def fails() -> int:
        await asyncio.sleep(0)
        raise LookupError("page 3: no such list")

    with pytest.raises(LookupError, match="page 3"):
        await gathered([waits(0), waits(1), fails(), waits(3)])
    await asyncio.sleep(0)
    assert sorted(cancelled) == [0, 1, 3]
