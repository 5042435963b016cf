"""Sharing the event loop with other sets' rollouts: walking and freeing 100,000 devices'
objects a slice at a time, with a turn of the loop between slices.

Dropping the last reference to a structure of 100,000 devices frees every object in it in one
step: the plan's JSON form took 15 ms per 20,000 devices, the devices' runs 8 ms, so at
100,000 devices the return of `apply` held the event loop for more than 100 ms while other
sets' rollouts were waiting for it. Emptied here in place, an item at a time, the same frees
are spread over turns of the loop.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

SLICE = 2000  # items walked or freed between two turns of the event loop
# Tasks at once in `each`: far above what the platform's lanes serve at once (32 by default),
# so it never slows a rollout, and the tasks made in one step stay a thousand.
WORKERS = 1000
_NESTED = 64  # an item holding more than this is emptied the same way before it is freed

Box = dict[Any, Any] | list[Any] | set[Any]


def _alone() -> int:
    """What `sys.getrefcount` says of an object that only a local name holds: 2 up to Python
    3.13, and less where the interpreter borrows the argument's reference (3.14 may). Measured,
    not assumed, so a container something else holds is never taken for ours."""
    item: list[Any] = []
    return sys.getrefcount(item)


_ALONE = _alone()


async def paced(items: Iterable[T]) -> AsyncIterator[T]:
    """`items`, with a turn of the event loop every `SLICE` of them: one pass over 100,000
    devices held the loop for tens of ms."""
    for i, x in enumerate(items, start=1):
        yield x
        if i % SLICE == 0:
            await asyncio.sleep(0)


async def release(*boxes: Box) -> None:
    """Empty each of `boxes` in place (the caller keeps the empty containers). An item that is
    itself a big dict, list or set, held by nothing else, is emptied the same way before it is
    freed; a small one (a device's change, its run) is freed whole with what it holds."""
    stack: list[Box] = list(boxes)
    freed = 0
    while stack:
        box = stack[-1]
        if not box:
            stack.pop()
            continue
        item = box.popitem()[1] if isinstance(box, dict) else box.pop()
        # Held by `item` alone (popped from `box`); anything more and it is not ours to empty.
        if isinstance(item, dict | list | set) and len(item) > _NESTED and sys.getrefcount(item) <= _ALONE:
            stack.append(item)
        del item
        freed += 1
        if freed % SLICE == 0:
            await asyncio.sleep(0)


async def each(items: Collection[T], work: Callable[[T], Awaitable[None]], workers: int = WORKERS) -> None:
    """`work` on every item, at most `workers` at once: each worker takes the next item when
    its last is done. One task per item made 100,000 tasks in one step of the event loop (an
    immediate rollout or a rollback of a whole fleet). An error stops the workers taking
    more and is raised, as `asyncio.gather` raises it."""
    queue = iter(items)
    failed = False

    async def worker() -> None:
        nonlocal failed
        for item in queue:
            if failed:
                return
            try:
                await work(item)
            except BaseException:
                failed = True
                raise

    await asyncio.gather(*(worker() for _ in range(min(workers, len(items)))))
