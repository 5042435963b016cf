"""Walking and freeing big structures a slice at a time (`reconciler.apply.turns`): the event
loop gets its turns, and nothing another part of the program still holds is emptied."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reconciler.apply.turns import SLICE, each, paced, release


async def _turns_during(work: Any) -> int:
    """How many times a task that is always ready ran while `work` was awaited."""
    turns = 0
    done = False

    async def probe() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0)
    start = turns
    await work
    done = True
    await task
    return turns - start


def test_release_empties_nested_structures_and_yields_between_slices() -> None:
    changes = [{"device": f"d{i}", "diff": {"k": [i] * 3}} for i in range(5 * SLICE)]
    data: dict[str, Any] = {"changes": changes, "devices": list(range(3 * SLICE))}
    del changes  # held by `data` only: emptied from inside
    devs = {f"d{i}": object() for i in range(2 * SLICE)}

    async def main() -> int:
        return await _turns_during(release(data, devs))

    turns = asyncio.run(main())
    assert data == {} and devs == {}
    # 10,000 changes, 6,000 devices and 2,000 runs, at most SLICE freed per turn
    assert turns >= 8


def test_release_leaves_what_something_else_holds() -> None:
    kept = list(range(10 * SLICE))
    data = {"changes": kept, "other": list(range(200))}

    asyncio.run(release(data))

    assert data == {}
    assert len(kept) == 10 * SLICE  # another reference: not ours to empty


def test_paced_walks_everything_in_order_with_turns_between() -> None:
    items = list(range(3 * SLICE + 5))
    seen: list[int] = []

    async def walk() -> None:
        seen.extend([x async for x in paced(items)])

    async def main() -> int:
        return await _turns_during(walk())

    turns = asyncio.run(main())
    assert seen == items
    assert turns >= 3


def test_each_runs_every_item_with_at_most_workers_at_once() -> None:
    running, most, done = 0, 0, []

    async def work(x: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0)
        done.append(x)
        running -= 1

    asyncio.run(each(range(5000), work, workers=64))

    assert sorted(done) == list(range(5000))
    assert most == 64


def test_each_raises_the_first_error_and_takes_no_more_items() -> None:
    taken: list[int] = []

    async def work(x: int) -> None:
        taken.append(x)
        await asyncio.sleep(0)
        if x == 3:
            raise ValueError("device 3 broke")

    with pytest.raises(ValueError, match="device 3 broke"):
        asyncio.run(each(range(1000), work, workers=4))
    assert len(taken) < 20  # the other workers stopped after their item in flight
