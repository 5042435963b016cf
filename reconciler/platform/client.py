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
import ssl
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import httpcore
import httpx
import miru_platform_sdk as sdk
from miru_platform_sdk._models import FinalRequestOptions
from miru_platform_sdk.types.config_instance_list_response import ConfigInstanceListResponse
from miru_platform_sdk.types.deployment_list import DeploymentList
from miru_platform_sdk.types.device_list import DeviceList

from reconciler.errors import PlatformError, ReconcileError
from reconciler.platform import sockets
from reconciler.platform.errors import API_VERSION, map_error
from reconciler.platform.retry import READS, Retry, RetryPolicy, Sleep
from reconciler.platform.slots import Priority, Slots

# miru-platform-sdk 0.11.0 declares list items as forward references and never resolves
# them, so in a fresh process `page.data` holds plain dicts while `retrieve` returns models.
# Resolve them once, in the module that owns the SDK, so every caller sees models.
for _list_model in (ConfigInstanceListResponse, DeploymentList, DeviceList):
    _list_model.model_rebuild()

# Requests in flight, reads and writes alike (`reconcile apply --parallelism`). At 50 ms a round
# trip, 32 in flight carry about 640 requests a second: a 2,000-device change (about 2,100
# requests) in about 3.5 s of network time, where one at a time needs 105 s. Miru publishes no rate
# limit; a platform that answers 429 pauses every request for its Retry-After (see `_send`).
DEFAULT_CONCURRENCY = 32
MAX_CONCURRENCY = 256
T = TypeVar("T")


@dataclass
class Platform:
    sdk: sdk.AsyncMiru  # SDK retries off: `read` retries, `write` never re-sends
    target: str  # a description safe to print (never the key)
    semaphore: Slots  # requests in flight; a freed slot goes to the most urgent request
    http: httpx.AsyncClient  # the SDK's HTTP client (same host and transport, e.g. for /v2)
    requests: int = 0  # requests this process made, for benchmarks and progress
    sleep: Sleep | None = None  # how retries wait (the run's clock, set by the wiring); None: wall time
    # Open unless the platform asked us to slow down: a 429 with Retry-After closes it for
    # that long, for every request of this process, not only the one that was refused.
    _open: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _holding: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._open.set()

    async def read(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        what: str,
        policy: RetryPolicy = READS,
        priority: Priority = Priority.FIRST,
    ) -> T:
        """Run a read, retried on 408/429/5xx and network errors under `policy`."""
        retry = Retry(policy, self.sleep)
        while True:
            try:
                return await self._send(call, what, priority)
            except PlatformError as e:
                if not await retry.wait(e):
                    raise gave_up(e, retry) from None

    async def write(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        """Run a write exactly once. Errors are mapped; callers decide how to recover."""
        return await self._send(call, what)

    async def _send(
        self, call: Callable[[], Awaitable[T]], what: str, priority: Priority = Priority.FIRST
    ) -> T:
        async with self.semaphore.take(priority):
            while not self._open.is_set():  # a Retry-After is running: wait it out, then send
                await self._open.wait()
            self.requests += 1
            try:
                return await call()
            except (sdk.APIStatusError, sdk.APIConnectionError) as e:
                error = map_error(e, what, str(self.sdk.base_url).rstrip("/"))
                if error.status == 429 and error.retry_after:
                    self._hold(error.retry_after)
                raise error from None

    def _hold(self, seconds: float) -> None:
        """Pause every request for `seconds`: the platform said it is over its limit, and the
        other requests in flight would only be refused too. Requests already sent are not
        recalled; a 429 answered while paused does not extend the pause (it was sent before)."""
        if not self._open.is_set():
            return
        self._open.clear()

        async def hold() -> None:
            try:
                await (self.sleep or asyncio.sleep)(seconds)
            finally:
                self._open.set()

        self._holding = asyncio.get_running_loop().create_task(hold())


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
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ReconcileError(f"parallelism must be between 1 and {MAX_CONCURRENCY}, not {concurrency}")
    if transport is None and not urllib.request.getproxies():  # (a proxy: httpx's own pool)
        transport = Lanes()
    http = _Http(transport=transport, timeout=timeout)
    client = _Sdk(api_key=api_key, miru_version=API_VERSION, base_url=url, max_retries=0, http_client=http)
    platform = Platform(sdk=client, target=target or url, semaphore=Slots(concurrency), http=http)
    try:
        yield platform
    finally:
        if platform._holding is not None:
            platform._holding.cancel()
        await http.aclose()


class _Sdk(sdk.AsyncMiru):
    """The official client, parsing each path's URL once: it parsed a path and then the
    joined URL again on every request (two full URL validations), the same few paths over
    and over (`/deployments` for each device's create)."""

    _urls: dict[str, httpx.URL] | None = None
    _headers: dict[int, httpx.Headers] | None = None

    def _build_headers(self, options: FinalRequestOptions, *, retries_taken: int = 0) -> httpx.Headers:
        # The same for every call that sets no headers or timeout of its own (its key, version,
        # platform headers, retry count): built and validated once, copied per request (the
        # caller edits its copy).
        if options.headers or not isinstance(options.timeout, sdk.NotGiven) or self._idempotency_header:
            return super()._build_headers(options, retries_taken=retries_taken)
        if self._headers is None:
            self._headers = {}
        built = self._headers.get(retries_taken)
        if built is None:
            built = self._headers[retries_taken] = super()._build_headers(
                options, retries_taken=retries_taken
            )
        return httpx.Headers(built)

    def _prepare_url(self, url: str) -> httpx.URL:
        if self._urls is None:
            self._urls = {}
        joined = self._urls.get(url)
        if joined is None:
            joined = super()._prepare_url(url)
            if len(self._urls) < 64:  # per-id paths (a retrieve, a deploy) would only fill it
                self._urls[url] = joined
        return joined


async def post_json(client: sdk.AsyncMiru, path: str, body: dict[str, Any]) -> Any:
    """`client.post(path, body=body)` answered as plain JSON: the SDK's own request method
    (its headers, auth, errors, timeouts), with request options copied from one made once
    rather than built per call (the SDK builds them with a deep copy of every default)."""
    options = _post_options(path).model_copy(update={"json_data": body})
    response = await client.request(httpx.Response, options)
    return response.json()


@lru_cache(maxsize=16)
def _post_options(path: str) -> FinalRequestOptions:
    return FinalRequestOptions.construct(method="post", url=path)


class _Http(httpx.AsyncClient):
    """httpx's client without a cookie jar. The platform authenticates by key, never by a
    cookie, and reading every answer into a jar (through urllib's request parsing) was a
    tenth of apply's CPU; nor should a cookie a platform or a proxy sets be replayed on
    every later request."""

    async def send(self, request: httpx.Request, *, stream: bool = False, **kwargs: Any) -> httpx.Response:
        response = await super().send(request, stream=stream, **kwargs)
        if not stream:
            # Read to the end: its stream (which refers back to the response, a reference cycle)
            # is let go, so the answer is freed as soon as the caller drops it, not whenever the
            # cyclic collector next runs (every page of a 100,000-device read waited for it).
            response.stream = httpx.ByteStream(response.content)
        return response

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        return None


_NO_COOKIES = _NoCookies()


class Lanes(httpx.AsyncBaseTransport):
    """Keep-alive connections handed out from a free list, one request each at a time.

    httpx's pool (httpcore) walks every connection it holds, asking each whether its socket
    expired, on every request and every response it finishes: with 32 requests in flight that
    walk was a quarter of apply's CPU. Here each lane is a pool of one connection, and taking
    or giving back a lane is a list operation. The number of lanes follows the requests in
    flight (`Platform.semaphore` bounds them); one TLS context serves them all."""

    def __init__(self) -> None:
        self._tls: ssl.SSLContext | None = None
        self._free: list[httpx.AsyncHTTPTransport] = []
        self._all: list[httpx.AsyncHTTPTransport] = []

    def tls(self) -> ssl.SSLContext:
        """Made when the first https connection opens: loading the CA bundle takes 20-25 ms, a
        cost a plan against a platform over plain http (an emulator on loopback) never needs."""
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        lane = self._free.pop() if self._free else self._new()
        try:
            response = await lane.handle_async_request(request)
        except BaseException:
            self._free.append(lane)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _GiveBack(response.stream, lambda: self._free.append(lane))
        return response

    def _new(self) -> httpx.AsyncHTTPTransport:
        lane = _Lane(_OneConnection(self.tls))
        self._all.append(lane)
        return lane

    async def aclose(self) -> None:
        for lane in self._all:
            await lane.aclose()


class _Lane(httpx.AsyncHTTPTransport):
    """httpx's transport (its request and error mapping) over one connection: httpcore's
    pool around it, even a pool of one, re-sorted its queue on every request and every
    response closed, a tenth of apply's CPU. Its own pool (and TLS context) is never made."""

    def __init__(self, connection: _OneConnection) -> None:  # (not super's: that builds a pool)
        self._pool = connection  # type: ignore[assignment]


class _OneConnection:
    """What httpcore's pool does for a pool of one: a keep-alive connection, replaced when it
    expired (idle past `KEEPALIVE`, or closed by the server) and once more when it turns out
    to be unusable as the request is sent."""

    def __init__(self, tls: Callable[[], ssl.SSLContext]) -> None:
        self._tls = tls
        self._connection: httpcore.AsyncHTTPConnection | None = None

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        for last in (False, True):
            connection = await self._usable(request.url.origin)
            try:
                return await connection.handle_async_request(request)
            except httpcore.ConnectionNotAvailable:
                self._connection = None
                await connection.aclose()
                if last:
                    raise
        raise AssertionError("unreachable")

    async def _usable(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        connection = self._connection
        if connection is not None:
            if connection.can_handle_request(origin) and not (
                connection.has_expired() or connection.is_closed()
            ):
                return connection
            await connection.aclose()
        tls = self._tls() if origin.scheme == b"https" else None
        self._connection = httpcore.AsyncHTTPConnection(
            origin=origin, ssl_context=tls, keepalive_expiry=KEEPALIVE, network_backend=_BACKEND
        )
        return self._connection

    async def aclose(self) -> None:
        if self._connection is not None:
            await self._connection.aclose()


KEEPALIVE = 5.0  # seconds an idle connection is kept (httpx's default)
_BACKEND = sockets.Backend()  # asyncio transports under httpcore, not anyio streams (`sockets.py`)


class _GiveBack(httpx.AsyncByteStream):
    """A response body that gives its lane back once it is read or closed."""

    def __init__(self, inner: httpx.AsyncByteStream, give_back: Callable[[], None]) -> None:
        self._inner, self._give_back = inner, give_back

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._inner:
            yield part

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            give_back, self._give_back = self._give_back, _nothing
            give_back()


def _nothing() -> None:
    return None


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
