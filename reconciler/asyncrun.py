"""The one way a command runs its coroutine: `asyncio.run`, without handing it the result.

On Python 3.11, `asyncio.run` ends by asking `signal.getsignal` for the SIGINT handler it
installed, a `functools.partial` over the main task. `signal` tries that handler as an enum
member, and the failed lookup formats the partial's repr: the finished task's, with its
result. A plan's repr is every change in it, built in full and then cut to 30 characters,
twice: 120 ms of a 10,000-device plan's 0.8 s of CPU, and more as the fleet grows. The main
task here returns nothing; the result is passed on beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, with `main`'s result kept out of the task asyncio reprs."""
    box: list[T] = []

    async def hold() -> None:
        box.append(await main)

    asyncio.run(hold())  # noqa: TID251 (the one call allowed)
    return box[0]
