"""A device's health probe over HTTP (`rollout.health_check.probe`). A URL starting with `/` or
on the platform's own host goes through the platform's HTTP client (its transport: an
in-process emulator works too); any other host through a client of our own. No credential is
ever sent: a probe is the device's own endpoint, not the platform's API."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx

from reconciler.model.rollout import Probe
from reconciler.platform.client import Platform

MAX_BODY = 64 * 1024  # a probe answer is small; anything larger is not read further


@dataclass(frozen=True)
class ProbeAnswer:
    status: int | None  # None: no answer (timeout, connection refused)
    body: str = ""
    error: str = ""


def probe_url(probe: Probe, platform: Platform, *, device_name: str, device_id: str) -> str:
    url = probe.url.replace("{device_name}", quote(device_name, safe="")).replace(
        "{device_id}", quote(device_id, safe="")
    )
    if url.startswith("/"):
        base = httpx.URL(str(platform.sdk.base_url))
        return str(base.copy_with(raw_path=url.encode(), query=None))
    return url


async def ask(platform: Platform, probe: Probe, *, device_name: str, device_id: str) -> ProbeAnswer:
    url = probe_url(probe, platform, device_name=device_name, device_id=device_id)
    same_host = httpx.URL(url).netloc == httpx.URL(str(platform.sdk.base_url)).netloc
    try:
        async with platform.semaphore:
            if same_host:
                response = await platform.http.get(url, timeout=probe.timeout)
            else:
                async with httpx.AsyncClient(timeout=probe.timeout) as own:
                    response = await own.get(url)
    except httpx.TimeoutException:
        return ProbeAnswer(None, error=f"no answer within {probe.timeout:g}s")
    except httpx.HTTPError as e:
        return ProbeAnswer(None, error=f"unreachable ({type(e).__name__})")
    return ProbeAnswer(response.status_code, response.text[:MAX_BODY])
