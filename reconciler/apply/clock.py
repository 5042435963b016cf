"""The executor's clock: health checks wait on it, and it is injected so tests never sleep.

`WallClock` is real time. Which clock a run uses is decided where the platform is wired
(`reconciler.commands.wiring`): an emulator with a manual clock gets one that advances it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    poll_interval: float

    def now(self) -> float: ...

    def utc(self) -> float:
        """Seconds since the epoch on the platform's clock (to age its timestamps)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    poll_interval = 0.5

    def now(self) -> float:
        return time.monotonic()

    def utc(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
