"""Enrollment diagnostics from the enrollment history service: why an inactive device has
no agent.

For each inactive/activating device the plan would block, read its newest enrollment
attempt and, when that failed, the attempt's error logs. Diagnostics never fail a plan:
a service that cannot be reached becomes a diagnostic line itself.

A `base_url` on the platform's own host, or starting with `/`, is reached through the
platform's HTTP client (and so its transport: an in-process platform works too). The token
comes from the environment (`token_env`), else from the caller's `default_token`, which is
only ever sent to the platform's own host.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

import httpx

from reconciler.errors import redact
from reconciler.model.live import LiveDevice
from reconciler.model.project import EnrollmentService
from reconciler.platform.client import Platform

MAX_LOG_LINES = 20


async def enrollment_diagnostics(
    service: EnrollmentService,
    platform: Platform,
    devices: Sequence[LiveDevice],
    *,
    default_token: str | None = None,
) -> dict[str, tuple[str, ...]]:
    """device id -> diagnostic lines."""
    if not devices:
        return {}
    base = service.base_url.rstrip("/")
    own_client = None
    platform_url = httpx.URL(str(platform.sdk.base_url))
    if base.startswith("/"):
        base = str(platform_url.copy_with(path=base, query=None))
    same_host = httpx.URL(base).netloc == platform_url.netloc
    token = os.environ.get(service.token_env)
    if not token and same_host:
        token = default_token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if same_host:
        client = platform.http
    else:
        own_client = client = httpx.AsyncClient(timeout=15.0)
    try:

        async def bounded(device: LiveDevice) -> list[str]:
            # Thousands of inactive devices must not open thousands of connections at once.
            async with platform.semaphore:
                return await _one(client, base, service.client_id, device, headers)

        lines = await asyncio.gather(*(bounded(d) for d in devices))
    finally:
        if own_client is not None:
            await own_client.aclose()
    missing = (
        []
        if token
        else [f"(enrollment service: {service.token_env} is not set; the request was sent without a token)"]
    )
    return {
        d.id: tuple(_hide(x, token) for x in ls + (missing if ls and "HTTP 401" in ls[0] else []))
        for d, ls in zip(devices, lines, strict=True)
    }


def _hide(line: str, token: str | None) -> str:
    # The service's answers may echo what it was sent; token_env may name a variable
    # `redact` does not know.
    line = redact(line)
    return line.replace(token, "***") if token and len(token) >= 4 else line


async def _one(
    client: httpx.AsyncClient, base: str, client_id: str, device: LiveDevice, headers: dict[str, str]
) -> list[str]:
    url = f"{base}/clients/{client_id}/devices/{device.id}/deployments"
    try:
        r = await client.get(
            url, params={"page_size": 1, "sort_by": "enrollment_date", "sort_order": "desc"}, headers=headers
        )
        if r.status_code != 200:
            return [f"enrollment service: HTTP {r.status_code} for {device.name}: {_message(r)}"]
        data = r.json().get("data") or []
        if not data:
            return ["no enrollment attempt on record: the agent was never installed"]
        last = data[0]
        when = last.get("enrollment_date", "?")
        status = last.get("status", "?")
        lines = [f"last enrollment attempt {when}: {status}"]
        if status == "error":
            d = await client.get(f"{url}/{last.get('id')}", headers=headers)
            if d.status_code == 200:
                logs = d.json().get("error_logs") or []
                lines += [f"  {line}" for line in logs[-MAX_LOG_LINES:]]
            else:
                lines.append(f"enrollment service: HTTP {d.status_code} reading the attempt's error logs")
        elif status == "pending":
            lines.append("  enrollment in progress")
        return lines
    except httpx.HTTPError as e:
        return [f"enrollment service unreachable ({type(e).__name__}); check enrollment.base_url"]
    except ValueError:
        return ["enrollment service: the answer was not JSON"]


def _message(r: httpx.Response) -> str:
    try:
        body: Any = r.json()
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    except ValueError:
        pass
    return r.reason_phrase
