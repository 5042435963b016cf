"""One retry policy for every platform call, reads and writes alike: exponential backoff with
jitter (concurrent callers do not retry in lockstep), the platform's Retry-After when it sends
one (0 included: retry at once), a cap on attempts and a total budget of waiting.

Reads simply call again. Writes never re-send blindly: between attempts they read back
whether the earlier attempt landed (see `writes.py`); this module only says when to wait,
how long, and when to give up.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import httpx

from reconciler.errors import PlatformError

MAX_RETRY_AFTER = 30.0  # a server asking for longer is waited on this long, then asked again


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
    attempts: int  # calls in all, the first included
    base: float  # the first backoff, doubled at each attempt
    cap: float  # the longest backoff
    budget: float  # the most seconds spent waiting over all attempts

    def delay(self, attempt: int, after: float | None = None) -> float:
        """The wait after failed attempt `attempt` (0-based): the server's Retry-After when it
        gave one, else backoff with jitter in [50%, 100%]."""
        if after is not None:
            return after
        return float(min(self.cap, self.base * 2**attempt) * (0.5 + random.random() / 2))


READS = RetryPolicy(attempts=5, base=0.2, cap=8.0, budget=120.0)
# A read that decides whether a write landed must not give up on a burst of 429/5xx (giving
# up there would stop the run mid-rollout), so it may go on for longer.
CONFIRMING_READS = RetryPolicy(attempts=20, base=0.2, cap=8.0, budget=300.0)
WRITES = RetryPolicy(attempts=6, base=0.1, cap=4.0, budget=120.0)


async def pause(seconds: float) -> None:
    """Every wait the retry policy asks for (tests replace `asyncio` here to skip it)."""
    await asyncio.sleep(seconds)


class Retry:
    """The retry state of one operation under a policy."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.attempt = 0  # failed attempts waited on so far
        self.waited = 0.0

    async def wait(self, error: PlatformError) -> bool:
        """After a failed attempt: wait and return True when the error may pass and the policy
        allows another attempt; return False at once otherwise."""
        if not retryable(error) or self.attempt + 1 >= self.policy.attempts:
            return False
        delay = self.policy.delay(self.attempt, error.retry_after)
        if self.waited + delay > self.policy.budget:
            return False
        await pause(delay)
        self.waited += delay
        self.attempt += 1
        return True
