"""Where a project's target becomes a platform connection: the URL, the key, the HTTP
transport, the clock apply waits on and the enrollment token to fall back on. The only
product module (with `reconcile emulator serve`) that imports the emulator: an `emulator:`
target is mounted in process as an ASGI app, then reached over HTTP through the SDK."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from reconciler.apply.clock import Clock, WallClock
from reconciler.errors import ReconcileError
from reconciler.model.project import EmulatorTarget, Project, RemoteTarget
from reconciler.platform.client import Platform, checked_url, connect
from reconciler.sensitive import checked_credential

EMULATOR_ROOT = "http://emulator.local"  # the in-process emulator's (never resolved) host
LOOPBACK = ("127.0.0.1", "localhost", "::1")
EMULATOR_KEY = "emulator-local-rw"  # its built-in read-write key
EMULATOR_ENROLLMENT_TOKEN = "emulator-enrollment-token"  # its enrollment service's built-in token


@dataclass(frozen=True)
class Endpoint:  # how to reach the platform a command targets
    base_url: str
    api_key: str
    target: str  # how output names it (never the key)
    transport: httpx.AsyncBaseTransport | None = None  # None: the network
    manual_clock: bool = False  # an emulator whose time moves only when told to
    enrollment_token: str | None = None  # for the enrollment service on the platform's host
    # An enrollment service may be a path on the platform's host only on an emulator (embedded
    # or on this machine's loopback): Miru's API host never receives an enrollment token.
    enrollment_on_host: bool = False


@dataclass(frozen=True)
class Session:
    platform: Platform
    clock: Clock
    enrollment_token: str | None = None
    enrollment_on_host: bool = False


def describe_target(project: Project, base_url: str | None = None) -> str:
    """The target as plans record it: a saved plan is applied only to the same target."""
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


def endpoint(project: Project, base_url: str | None = None) -> Endpoint:
    """`--base-url` / MIRU_BASE_URL override the project file. A remote target without
    MIRU_API_KEY is an error, never a silent fallback to the emulator."""
    base_url = base_url or os.environ.get("MIRU_BASE_URL")
    target = project.target
    if not base_url and isinstance(target, EmulatorTarget):
        return _embedded(project, target)
    url = checked_url(base_url or (target.base_url if isinstance(target, RemoteTarget) else ""))
    key = os.environ.get("MIRU_API_KEY")
    if not key:
        raise ReconcileError(
            f"MIRU_API_KEY is not set; it is required to reach {url}",
            hint="export MIRU_API_KEY=<your key> (read from the environment only)",
        )
    key = checked_credential("MIRU_API_KEY", key)
    loopback = urlsplit(url).hostname in LOOPBACK
    return Endpoint(
        base_url=url, api_key=key, target=describe_target(project, base_url), enrollment_on_host=loopback
    )


def _embedded(project: Project, target: EmulatorTarget) -> Endpoint:
    from reconciler.emulator import clock
    from reconciler.emulator.app import create_app
    from reconciler.emulator.seed import SeedError

    db = project.root / target.db
    db.parent.mkdir(parents=True, exist_ok=True)
    seed = project.root / target.seed if target.seed else None
    try:
        app = create_app(str(db), seed=seed, api_keys=None)
    except SeedError as e:  # a bad seed file: the message names file:line:col and the entry
        raise ReconcileError(f"emulator seed: {e}") from None
    return Endpoint(
        base_url=f"{EMULATOR_ROOT}/beta",
        api_key=EMULATOR_KEY,
        target=describe_target(project),
        transport=httpx.ASGITransport(app=app),
        manual_clock=clock.mode(app.state.store.conn) == "manual",
        enrollment_token=EMULATOR_ENROLLMENT_TOKEN,
        enrollment_on_host=True,
    )


@asynccontextmanager
async def session(project: Project, base_url: str | None = None) -> AsyncIterator[Session]:
    """The platform the project targets, with its clock and enrollment token."""
    ep = endpoint(project, base_url)
    async with connect(ep.base_url, api_key=ep.api_key, transport=ep.transport, target=ep.target) as platform:
        clock = await _clock(platform, ep)
        platform.sleep = clock.sleep  # retries wait on the run's clock too (an emulator's: no sleeping)
        yield Session(
            platform=platform,
            clock=clock,
            enrollment_token=ep.enrollment_token,
            enrollment_on_host=ep.enrollment_on_host,
        )


async def _clock(platform: Platform, ep: Endpoint) -> Clock:
    """An emulator on a manual clock (embedded, or served on this machine's loopback) is waited
    on by advancing its clock; anything else, a real platform included, by wall time."""
    root = ep.base_url.removesuffix("/").removesuffix("/beta")
    if not ep.manual_clock and urlsplit(root).hostname not in LOOPBACK:
        return WallClock()
    try:
        answer = await platform.http.get(root + "/_emulator/clock", headers={"X-API-Key": ep.api_key})
        state = answer.json() if answer.status_code == 200 else {}
        manual, epoch = state.get("mode") == "manual", float(state.get("epoch", 0.0))
    except (httpx.HTTPError, ValueError, TypeError, AttributeError):
        manual, epoch = False, 0.0
    return EmulatorClock(platform.http, root, ep.api_key, epoch=epoch) if manual else WallClock()


class EmulatorClock:
    """Emulator time, advanced by `sleep` over its admin API (`POST /_emulator/tick`) as if that
    much time had passed. `now()` counts seconds since this clock started."""

    poll_interval = 1.0

    def __init__(
        self, http: httpx.AsyncClient, root_url: str, api_key: str = EMULATOR_KEY, epoch: float = 0.0
    ):
        self._http, self._url, self._key = http, root_url.rstrip("/") + "/_emulator/tick", api_key
        self._now, self._epoch = 0.0, epoch

    def now(self) -> float:
        return self._now

    def utc(self) -> float:
        return self._epoch + self._now

    async def sleep(self, seconds: float) -> None:
        response = await self._http.post(
            self._url, json={"seconds": seconds}, headers={"X-API-Key": self._key}
        )
        if response.status_code >= 400:
            raise ReconcileError(f"cannot advance the emulator clock: HTTP {response.status_code}")
        self._now += seconds
