"""Owns the official SDK client: target selection, version pinning, timeouts,
a concurrency limit, and mapping SDK errors to the project's own errors.

Reads go through `Platform.read` (retries with backoff, jitter, Retry-After);
writes go through `Platform.write` (the SDK's blind retries are disabled: a create
whose response was lost must be read back, never re-sent; see `writes.py`).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import miru_platform_sdk as sdk
from miru_platform_sdk.types.config_instance_list_response import ConfigInstanceListResponse
from miru_platform_sdk.types.deployment_list import DeploymentList
from miru_platform_sdk.types.device_list import DeviceList

from reconciler.errors import PlatformError, ReconcileError
from reconciler.model.project import EmulatorTarget, Project, RemoteTarget

# miru-platform-sdk 0.11.0 declares list items as forward references and never resolves
# them, so in a fresh process `page.data` holds plain dicts while `retrieve` returns models.
# Resolve them once, in the module that owns the SDK, so every caller sees models.
for _list_model in (ConfigInstanceListResponse, DeploymentList, DeviceList):
    _list_model.model_rebuild()

API_VERSION = "2026-08-17.everglades"
EMULATOR_KEY = "emulator-local-rw"  # the embedded emulator's built-in read-write key
EMULATOR_ENROLLMENT_TOKEN = "emulator-enrollment-token"  # its built-in enrollment (seed 001) token
DEFAULT_CONCURRENCY = 8
READ_ATTEMPTS = 5
T = TypeVar("T")


@dataclass
class Platform:
    sdk: sdk.AsyncMiru  # for reads (SDK retries off; `read` retries)
    target: str  # a description safe to print (never the key)
    semaphore: asyncio.Semaphore
    requests: int = 0  # requests this process made, for benchmarks and progress
    http: httpx.AsyncClient | None = None  # the SDK's HTTP client (same host; e.g. the emulator's /v2)

    @property
    def base_url(self) -> str:
        return str(self.sdk.base_url).rstrip("/")

    async def read(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Run a read with retries on 408/429/5xx and network errors, honouring Retry-After."""
        for attempt in range(READ_ATTEMPTS):
            async with self.semaphore:
                self.requests += 1
                try:
                    return await call()
                except sdk.APIStatusError as e:
                    retryable = e.status_code in (408, 429) or e.status_code >= 500
                    if not retryable or attempt == READ_ATTEMPTS - 1:
                        raise map_error(e, what, self.base_url) from None
                    delay = retry_delay(e.response, attempt)
                except sdk.APIConnectionError as e:
                    if attempt == READ_ATTEMPTS - 1:
                        raise map_error(e, what, self.base_url) from None
                    delay = _backoff(attempt)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def write(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Run a write exactly once. Errors are mapped; callers decide how to recover."""
        async with self.semaphore:
            self.requests += 1
            try:
                return await call()
            except (sdk.APIStatusError, sdk.APIConnectionError) as e:
                raise map_error(e, what, self.base_url) from None


def connection_cause(exc: BaseException) -> str:
    """The innermost reason a connection failed, in words: `connection refused`, `host not
    found`, ... (the SDK's own message is only "Connection error.")."""
    found: BaseException = exc
    seen = 0
    x: BaseException | None = exc
    while x is not None and seen < 10:
        found, seen = x, seen + 1
        x = x.__cause__ or x.__context__
    if isinstance(found, ConnectionRefusedError):
        return "connection refused"
    if isinstance(found, socket.gaierror):
        return f"host not found ({found.strerror or found})".replace("(Name", "(name")
    if isinstance(found, TimeoutError):
        return "timed out"
    if isinstance(found, ssl.SSLError):
        return f"TLS error ({found.reason or found})"
    text = re.sub(r"^\[Errno -?\d+\] ", "", str(found)).strip()
    return text[:1].lower() + text[1:] if text else type(found).__name__


def _backoff(attempt: int) -> float:
    return float(min(8.0, 0.2 * 2**attempt) * (0.5 + random.random() / 2))


def retry_delay(response: httpx.Response, attempt: int) -> float:
    """The server's Retry-After when it gave one (0 included: retry at once), else backoff."""
    after = _retry_after(response)
    return _backoff(attempt) if after is None else after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(30.0, max(0.0, float(value)))
    except ValueError:
        return None


def map_error(exc: Exception, what: str, base_url: str | None = None) -> PlatformError:
    """Turn an SDK error into a PlatformError with a hint. Never includes the key. With the
    `base_url`, network errors name it and their cause, and a 404 from a base URL without
    `/beta` (or from a server that is not the platform) says so."""
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
        raw_err = body.get("error")
        err: dict[str, Any] = raw_err if isinstance(raw_err, dict) else {}
        raw_params = err.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        message = str(err.get("message") or exc.message)
        code = err.get("code")
        scope = f" ({params['scope']})" if params.get("scope") else ""
        hints = {
            400: f"the platform rejected the request; this client speaks Miru-Version {API_VERSION}",
            401: "check MIRU_API_KEY: it is missing, wrong or revoked",
            403: f"the API key lacks a scope this command needs{scope}",
            404: "the object does not exist (was it deleted in the dashboard?)",
            409: "the device changed since it was read (parent_id mismatch)",
            429: "the platform is rate limiting; retry later",
        }
        server = "the platform returned an error; retry, and report it if it persists"
        hint = hints.get(status, server if status >= 500 else None)
        if status == 404 and base_url and not httpx.URL(base_url).path.rstrip("/").endswith("/beta"):
            hint = f"the platform API is under /beta: is the base URL {base_url}/beta?"
        elif status == 404 and base_url and not err:  # not the platform's error body
            hint = f"{base_url} does not answer like the Miru platform API: check the base URL"
        return PlatformError(
            f"{what}: HTTP {status}: {message}", status=status, hint=hint, code=str(code) if code else None
        )
    at = f" at {base_url}" if base_url else ""
    if isinstance(exc, sdk.APITimeoutError):
        return PlatformError(
            f"{what}: the platform{at} did not answer in time", hint="check the network and the base URL"
        )
    if isinstance(exc, sdk.APIConnectionError):
        return PlatformError(
            f"{what}: cannot reach the platform{at}: {connection_cause(exc)}",
            hint="check the network and the base URL",
        )
    return PlatformError(f"{what}: {exc}")


def describe_target(project: Project, base_url: str | None = None) -> str:
    base_url = base_url or os.environ.get("MIRU_BASE_URL")
    if base_url:
        return normalize_url(base_url)
    if isinstance(project.target, RemoteTarget):
        return normalize_url(project.target.base_url)
    return f"emulator:{project.target.db}"


def normalize_url(url: str) -> str:
    """One spelling per target (`HTTPS://Host/beta/` is `https://host/beta`), so a plan saved
    with one spelling applies with another."""
    url = url.strip()
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return url.rstrip("/")
    if not parsed.scheme or not parsed.host:
        return url.rstrip("/")
    return str(parsed.copy_with(path=parsed.path.rstrip("/") or "")).rstrip("/")


@asynccontextmanager
async def connect(
    project: Project,
    *,
    base_url: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 30.0,
) -> AsyncIterator[Platform]:
    """Open the platform the project targets. `--base-url` / MIRU_BASE_URL override the
    project file. A remote target without MIRU_API_KEY is an error, never a silent fallback
    to the emulator."""
    base_url = base_url or os.environ.get("MIRU_BASE_URL")
    target = project.target
    if base_url or isinstance(target, RemoteTarget):
        url = _checked_url(base_url or (target.base_url if isinstance(target, RemoteTarget) else ""))
        key = os.environ.get("MIRU_API_KEY")
        if not key:
            raise ReconcileError(
                f"MIRU_API_KEY is not set; it is required to reach {url}",
                hint="export MIRU_API_KEY=<your key> (read from the environment only)",
            )
        http = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=concurrency * 2))
    else:
        assert isinstance(target, EmulatorTarget)
        app = _embedded_app(project.root, target)
        url, key = "http://emulator.local/beta", EMULATOR_KEY
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=timeout)
    client = sdk.AsyncMiru(
        api_key=key, miru_version=API_VERSION, base_url=url, max_retries=0, http_client=http
    )
    try:
        yield Platform(
            sdk=client,
            target=describe_target(project, base_url),
            semaphore=asyncio.Semaphore(concurrency),
            http=http,
        )
    finally:
        await http.aclose()


def _checked_url(url: str) -> str:
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


def _embedded_app(root: Path, target: EmulatorTarget) -> Any:
    # The one place the product reaches the emulator, and only to mount it as an ASGI app:
    # everything after goes over HTTP through the SDK.
    from reconciler.emulator.app import create_app
    from reconciler.emulator.seed import SeedError

    db = root / target.db
    db.parent.mkdir(parents=True, exist_ok=True)
    seed = root / target.seed if target.seed else None
    try:
        return create_app(str(db), seed=seed, api_keys=None)
    except SeedError as e:  # a bad seed file: the message names file:line:col and the entry
        raise ReconcileError(f"emulator seed: {e}") from None
