"""Request slots: at most N requests in flight, and a freed slot goes to the most urgent request
waiting, first come first served within a priority.

A plain semaphore serves in arrival order, so the one request a plan waits on (the schemas the
manifests resolve against, a control record) queued behind the two hundred pages of a
10,000-device fleet asked for a moment earlier: at 8 in flight the manifests could resolve only
once every page was in, and the plan came a third of a second after the last one."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import IntEnum


class Priority(IntEnum):
    """Lower goes first."""

    FIRST = 0  # a single request, a list's first page, a write: what something waits on now
    PAGES = 1  # the rest of a list whose first page said how long it is
    LAST = 2  # pages nothing needs before the plan is made (the deployments)


class Slots:
    """`async with slots:` takes a slot at `Priority.FIRST`; `async with slots.take(p):` at `p`.

    A lower priority waits as long as higher ones keep coming. Only the pages of the live
    state's lists are lower, and a few single reads go before them: they are never starved
    (writes and the reads apply makes while writing are all `FIRST`)."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: tuple[deque[asyncio.Future[None]], ...] = tuple(deque() for _ in Priority)

    @asynccontextmanager
    async def take(self, priority: Priority = Priority.FIRST) -> AsyncIterator[None]:
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def __aenter__(self) -> None:
        await self._acquire(Priority.FIRST)

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    async def _acquire(self, priority: Priority) -> None:
        if self._free > 0 and not any(self._waiting):
            self._free -= 1
            return
        queue = self._waiting[priority]
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # handed a slot in the moment it was cancelled: pass it on
            elif granted in queue:
                queue.remove(granted)
            raise

    def _release(self) -> None:
        for queue in self._waiting:
            while queue:
                granted = queue.popleft()
                if not granted.done():  # (a cancelled waiter is done)
                    granted.set_result(None)
                    return
        self._free += 1
