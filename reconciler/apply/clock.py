"""The executor's clock: health checks wait on it, and it is injected so tests never sleep.

`WallClock` is real time. `EmulatorClock` drives an emulator whose clock is manual:
`sleep` advances the emulator's clock over its admin API (`POST /_emulator/tick`), so
simulated agents make progress exactly as if that much time had passed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

import httpx

from reconciler.errors import ReconcileError
from reconciler.platform.client import EMULATOR_KEY, Platform


class Clock(Protocol):
    poll_interval: float

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    poll_interval = 0.5

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class EmulatorClock:
    """Emulator time, advanced by `sleep`. `now()` counts seconds since this clock started."""

    poll_interval = 1.0

    def __init__(self, http: httpx.AsyncClient, root_url: str, api_key: str = EMULATOR_KEY):
        self._http = http
        self._url = root_url.rstrip("/") + "/_emulator/tick"
        self._key = api_key
        self._now = 0.0

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        response = await self._http.post(
            self._url, json={"seconds": seconds}, headers={"X-API-Key": self._key}
        )
        if response.status_code >= 400:
            raise ReconcileError(f"cannot advance the emulator clock: HTTP {response.status_code}")
        self._now += seconds


def _root_url(platform: Platform) -> str:
    url = str(platform.sdk.base_url).rstrip("/")
    return url[: -len("/beta")] if url.endswith("/beta") else url


async def clock_for(platform: Platform) -> Clock:
    """An embedded or loopback emulator with a manual clock gets an `EmulatorClock`; anything
    else (a real platform, an emulator on real time) gets wall time."""
    target = platform.target
    local = target.startswith("emulator:") or any(
        h in target for h in ("://127.0.0.1", "://localhost", "://[::1]")
    )
    if not local:
        return WallClock()
    http: Any = platform.sdk._client  # the SDK's own httpx client: same transport, same process
    root = _root_url(platform)
    key = platform.sdk.api_key
    try:
        response = await http.get(root + "/_emulator/clock", headers={"X-API-Key": key})
        mode = response.json().get("mode") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        mode = None
    if mode == "manual":
        return EmulatorClock(http, root, key)
    return WallClock()
