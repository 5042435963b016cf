"""Owns the official SDK client: version pinning, timeouts, a concurrency limit, the retry
policy, and mapping SDK errors to the project's own errors.

`connect` takes the base URL, the key and (optionally) the HTTP transport from its caller, the
way httpx does: which platform a project targets is decided in the command layer
(`reconciler.commands.wiring`), never here. Reads go through `Platform.read` (retried under a
policy from `retry.py`); writes go through `Platform.write` (sent once: a create whose answer
was lost must be read back, never re-sent; see `writes.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx
import miru_platform_sdk as sdk
from miru_platform_sdk.types.config_instance_list_response import ConfigInstanceListResponse
from miru_platform_sdk.types.deployment_list import DeploymentList
from miru_platform_sdk.types.device_list import DeviceList

from reconciler.errors import PlatformError, ReconcileError
from reconciler.platform.errors import API_VERSION, map_error
from reconciler.platform.retry import READS, Retry, RetryPolicy, Sleep

# miru-platform-sdk 0.11.0 declares list items as forward references and never resolves
# them, so in a fresh process `page.data` holds plain dicts while `retrieve` returns models.
# Resolve them once, in the module that owns the SDK, so every caller sees models.
for _list_model in (ConfigInstanceListResponse, DeploymentList, DeviceList):
    _list_model.model_rebuild()

DEFAULT_CONCURRENCY = 8
T = TypeVar("T")


@dataclass
class Platform:
    sdk: sdk.AsyncMiru  # SDK retries off: `read` retries, `write` never re-sends
    target: str  # a description safe to print (never the key)
    semaphore: asyncio.Semaphore
    http: httpx.AsyncClient  # the SDK's HTTP client (same host and transport, e.g. for /v2)
    requests: int = 0  # requests this process made, for benchmarks and progress
    sleep: Sleep | None = None  # how retries wait (the run's clock, set by the wiring); None: wall time

    async def read(self, call: Callable[[], Awaitable[T]], *, what: str, policy: RetryPolicy = READS) -> T:
        """Run a read, retried on 408/429/5xx and network errors under `policy`."""
        retry = Retry(policy, self.sleep)
        while True:
            try:
                return await self._send(call, what)
            except PlatformError as e:
                if not await retry.wait(e):
                    raise gave_up(e, retry) from None

    async def write(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Run a write exactly once. Errors are mapped; callers decide how to recover."""
        return await self._send(call, what)

    async def _send(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        async with self.semaphore:
            self.requests += 1
            try:
                return await call()
            except (sdk.APIStatusError, sdk.APIConnectionError) as e:
                raise map_error(e, what, str(self.sdk.base_url).rstrip("/")) from None


def gave_up(error: PlatformError, retry: Retry) -> PlatformError:
    """The last error, saying how long it was waited on when that was a rate limit."""
    if error.status != 429 or not retry.attempt:
        return error
    return PlatformError(
        f"{error.message}; still rate limited after {retry.attempt + 1} attempts over {retry.waited:.0f} s",
        status=error.status,
        hint="the platform is rate limiting this key: run again later",
        code=error.code,
        retry_after=error.retry_after,
    )


@asynccontextmanager
async def connect(
    base_url: str,
    *,
    api_key: str,
    transport: httpx.AsyncBaseTransport | None = None,
    target: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 30.0,
) -> AsyncIterator[Platform]:
    """The platform at `base_url` (checked), through `transport` when given (an in-process app,
    a test's wrapper), else the network. `target` is how output names it (default the URL)."""
    url = checked_url(base_url)
    limits = httpx.Limits(max_connections=concurrency * 2)
    http = httpx.AsyncClient(transport=transport, timeout=timeout, limits=limits)
    client = sdk.AsyncMiru(
        api_key=api_key, miru_version=API_VERSION, base_url=url, max_retries=0, http_client=http
    )
    try:
        yield Platform(sdk=client, target=target or url, semaphore=asyncio.Semaphore(concurrency), http=http)
    finally:
        await http.aclose()


def checked_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ReconcileError(
            f"not a usable base URL: {url!r}",
            hint="use an http(s) URL such as https://api.mirurobotics.com/beta",
        )
    return url
