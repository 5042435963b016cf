"""Enrollment diagnostics (seed 001): why an inactive device has no agent.

For each inactive/activating device the plan would block, read its newest enrollment
attempt and, when that failed, the attempt's error logs. Diagnostics never fail a plan:
a service that cannot be reached becomes a diagnostic line itself.

A `base_url` on the platform's own host (the emulator serves seed 001's API at `/v2`; the
embedded emulator's host is `http://emulator.local`), or starting with `/`, is reached
through the platform's HTTP client, so the embedded (in-process) emulator works too; with
no token in the environment, the embedded emulator's built-in token is used.
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
from reconciler.platform.client import EMULATOR_ENROLLMENT_TOKEN, Platform
from reconciler.sensitive import checked_credential

MAX_LOG_LINES = 20
EMBEDDED = "emulator:"  # how `describe_target` names the embedded (in-process) emulator


async def enrollment_diagnostics(
    service: EnrollmentService, platform: Platform, devices: Sequence[LiveDevice]
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
    token = checked_credential(service.token_env, os.environ.get(service.token_env) or "") or None
    if not token and same_host and platform.target.startswith(EMBEDDED):
        # The embedded emulator needs no setup, like its built-in platform key. Only sent to
        # the in-process emulator itself, never to another host.
        token = EMULATOR_ENROLLMENT_TOKEN
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if same_host and platform.http is not None:
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
