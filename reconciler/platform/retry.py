"""One retry policy for every platform call, reads and writes alike: exponential backoff with
jitter (concurrent callers do not retry in lockstep), the platform's Retry-After when it sends
one (0 included: retry at once), a cap on attempts and a total budget of waiting.

A platform that says when to come back (Retry-After, a rate limit) is waited on until the
budget is spent, the same for every read, plan's and apply's: only failures it gives no time
for count toward `attempts` (a platform that is down fails fast). Each such wait is charged at
least `GUIDED_MIN` seconds to the budget, so a storm of `Retry-After: 0` ends too. How a wait
happens is injected (`sleep`): the run's clock, so a test advances an emulator's clock instead
of sleeping.

Reads simply call again. Writes never re-send blindly: between attempts they read back
whether the earlier attempt landed (see `writes.py`); this module only says when to wait,
how long, and when to give up.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from reconciler.errors import PlatformError

MAX_RETRY_AFTER = 30.0  # a server asking for longer is waited on this long, then asked again
GUIDED_MIN = 0.5  # the least a wait the server asked for counts toward the budget
Sleep = Callable[[float], Awaitable[None]]


def retryable(error: PlatformError) -> bool:
    """Network errors (no status), timeouts, rate limits and server errors may succeed later."""
    return error.status is None or error.status in (408, 429) or error.status >= 500


def retry_after(response: httpx.Response) -> float | None:
    """The response's Retry-After in seconds (capped), or None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        return None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int  # calls in all, the first included, counting failures with no Retry-After
    base: float  # the first backoff, doubled at each attempt
    cap: float  # the longest backoff
    budget: float  # the most seconds spent waiting over all attempts

    def delay(self, attempt: int, after: float | None = None) -> float:
        """The wait after failed attempt `attempt` (0-based): the server's Retry-After when it
        gave one, else backoff with jitter in [50%, 100%]."""
        if after is not None:
            return after
        return float(min(self.cap, self.base * 2**attempt) * (0.5 + random.random() / 2))


BUDGET = 120.0  # rate limits are ridden out this long by every call, plan's and apply's
READS = RetryPolicy(attempts=5, base=0.2, cap=8.0, budget=BUDGET)
# A read that decides whether a write landed must not give up on a burst of 5xx (giving up
# there would stop the run mid-rollout), so it tries more often; rate limits, the same budget.
CONFIRMING_READS = RetryPolicy(attempts=20, base=0.2, cap=8.0, budget=BUDGET)
WRITES = RetryPolicy(attempts=6, base=0.1, cap=4.0, budget=BUDGET)


class Retry:
    """The retry state of one operation under a policy."""

    def __init__(self, policy: RetryPolicy, sleep: Sleep | None = None) -> None:
        self.policy = policy
        self.sleep = sleep  # None: wall time
        self.attempt = 0  # failed attempts waited on so far
        self.unguided = 0  # of them, those the server gave no Retry-After for
        self.waited = 0.0  # seconds charged to the budget

    async def wait(self, error: PlatformError) -> bool:
        """After a failed attempt: wait and return True when the error may pass and the policy
        allows another attempt; return False at once otherwise."""
        guided = error.retry_after is not None
        if not retryable(error) or (not guided and self.unguided + 1 >= self.policy.attempts):
            return False
        delay = self.policy.delay(self.unguided, error.retry_after)
        charge = max(delay, GUIDED_MIN) if guided else delay
        if self.waited + charge > self.policy.budget:
            return False
        await (self.sleep or asyncio.sleep)(delay)
        self.waited += charge
        self.attempt += 1
        self.unguided += 0 if guided else 1
        return True
