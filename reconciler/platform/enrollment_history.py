"""One device's enrollment history, read from the service: its newest attempt and, when that
failed, the attempt's error logs (the last 20 lines), as diagnostic lines."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.model.live import LiveDevice

MAX_LOG_LINES = 20


async def last_attempt(
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
        status = last.get("status", "?")
        lines = [f"last enrollment attempt {last.get('enrollment_date', '?')}: {status}"]
        if status == "error":
            lines += await _error_logs(client, f"{url}/{last.get('id')}", headers)
        elif status == "pending":
            lines.append("  enrollment in progress")
        return lines
    except httpx.HTTPError as e:
        return [f"enrollment service unreachable ({type(e).__name__}); check enrollment.base_url"]
    except ValueError:
        return ["enrollment service: the answer was not JSON"]


async def _error_logs(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[str]:
    d = await client.get(url, headers=headers)
    if d.status_code != 200:
        return [f"enrollment service: HTTP {d.status_code} reading the attempt's error logs"]
    return [f"  {line}" for line in (d.json().get("error_logs") or [])[-MAX_LOG_LINES:]]


def _message(r: httpx.Response) -> str:
    try:
        body: Any = r.json()
    except ValueError:
        return r.reason_phrase
    err = body.get("error") if isinstance(body, dict) else None
    return str(err["message"]) if isinstance(err, dict) and err.get("message") else r.reason_phrase
