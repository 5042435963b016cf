"""How `reconcile doctor` reads a platform account: raw GETs with the query strings written out by
hand (an HTTP status is data, a network failure an error), and what a finding is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.errors import ReconcileError
from reconciler.platform.client import Platform
from reconciler.platform.convert import get

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Finding:
    topic: str  # e.g. "filter id=a|b"
    value: str  # "yes", "no", a value, or "unknown"
    detail: str = ""
    switch: tuple[str, str] | None = None  # the emulator switch and value this matches


class Reader:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.base = str(platform.sdk.base_url).rstrip("/")
        self.headers = {k: v for k, v in platform.sdk.default_headers.items() if isinstance(v, str)}

    async def get(self, path_and_query: str) -> tuple[int, Any]:
        """(status, JSON body or None); a network failure is an error, an HTTP status is data."""
        url = f"{self.base}/{path_and_query}"

        async def call() -> httpx.Response:
            return await self.platform.http.get(url, headers=self.headers)

        try:
            r = await self.platform.read(call, what=f"probe {path_and_query.split('?')[0]}")
        except httpx.HTTPError as e:
            raise ReconcileError(f"cannot reach {self.base}: {type(e).__name__}") from None
        try:
            body = r.json()
        except ValueError:
            body = None
        return r.status_code, body


def rows_of(body: Any) -> list[Any]:
    return list(get(body, "data", []) or []) if isinstance(body, dict) else []


def refused(status: int, what: str) -> Finding | None:
    if status in (401, 403):
        return Finding(what, UNKNOWN, f"the key may not read this (HTTP {status})")
    return None
