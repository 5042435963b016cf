"""Why an inactive device has no agent, from the enrollment history service: its newest
enrollment attempt and, when that failed, the attempt's error logs. Diagnostics never fail
a plan: a service that cannot be reached becomes a diagnostic line itself.

The service is configured by its own absolute URL. Only against an emulator
(`on_platform_host`) may `base_url` be a path (`/v2`) or a URL on the platform's own host; it
is then reached through the platform's HTTP client (and so its transport: an in-process
platform works too). Against Miru, such a `base_url` is a diagnostic and nothing is sent, so
an enrollment token never reaches Miru's API host. The token comes from the environment
(`token_env`), else from the caller's `default_token`, sent only to an emulator's host.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx

from reconciler.errors import ReconcileError, redact
from reconciler.model.live import LiveDevice
from reconciler.model.project import EnrollmentService
from reconciler.platform.client import Platform
from reconciler.platform.enrollment_history import last_attempt
from reconciler.sensitive import checked_credential


async def enrollment_diagnostics(
    service: EnrollmentService,
    platform: Platform,
    devices: Sequence[LiveDevice],
    *,
    default_token: str | None = None,
    on_platform_host: bool = False,
) -> dict[str, tuple[str, ...]]:
    """device id -> diagnostic lines. `on_platform_host`: the platform is an emulator, whose
    host also serves the enrollment service."""
    if not devices:
        return {}
    base, same_host = _base(service, platform)
    if same_host and not on_platform_host:
        line = (
            f"(enrollment service: enrollment.base_url {service.base_url!r} is on the Miru API's host; "
            "set the service's own absolute URL (a path on the platform's host is only for the "
            "emulator); nothing was sent)"
        )
        return {d.id: (line,) for d in devices}
    token = os.environ.get(service.token_env) or (default_token if same_host else None)
    try:
        token = checked_credential(service.token_env, token) if token else None
    except ReconcileError as e:  # diagnostics never fail a plan: the problem is the diagnostic
        return {d.id: (f"(enrollment service: {e.message})",) for d in devices}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with _client(platform, same_host) as client:

        async def bounded(device: LiveDevice) -> list[str]:
            # Thousands of inactive devices must not open thousands of connections at once.
            async with platform.semaphore:
                return await last_attempt(client, base, service.client_id, device, headers)

        lines = await asyncio.gather(*(bounded(d) for d in devices))
    return {d.id: _finished(ls, service, token) for d, ls in zip(devices, lines, strict=True)}


def _base(service: EnrollmentService, platform: Platform) -> tuple[str, bool]:
    """The service's URL (a path resolved on the platform's host), and whether it is that host."""
    platform_url = httpx.URL(str(platform.sdk.base_url))
    base = service.base_url.rstrip("/")
    if base.startswith("/"):
        base = str(platform_url.copy_with(path=base, query=None))
    return base, httpx.URL(base).netloc == platform_url.netloc


def _finished(lines: list[str], service: EnrollmentService, token: str | None) -> tuple[str, ...]:
    """A device's lines, saying why a 401 came when no token was set, with the token hidden."""
    if lines and "HTTP 401" in lines[0] and not token:
        lines = [
            *lines,
            f"(enrollment service: {service.token_env} is not set; the request was sent without a token)",
        ]
    return tuple(_hide(x, token) for x in lines)


@asynccontextmanager
async def _client(platform: Platform, same_host: bool) -> AsyncIterator[httpx.AsyncClient]:
    """The platform's own client (and transport) for its own host, else a client of our own."""
    if same_host:
        yield platform.http
        return
    async with httpx.AsyncClient(timeout=15.0) as own:
        yield own


def _hide(line: str, token: str | None) -> str:
    # Answers may echo what was sent; token_env may name a variable `redact` does not know.
    line = redact(line)
    return line.replace(token, "***") if token and len(token) >= 4 else line
