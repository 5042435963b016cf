"""What `reconcile doctor` asks a platform account about the behaviours Miru's docs leave open,
with reads only: which filter separators and expansion forms it takes, how it sorts by default
and breaks ties, whether its ids sort by time, its timestamp precision, whether a device's
current deployment switches before its agent confirms it, and whom the key belongs to.

Each finding is `yes`/`no`/a value, or `unknown` with why (too little data to tell, or a scope
the key lacks): a probe never writes, so a question no read can answer stays open. The query
strings are written out by hand, since the point is to see how the server reads each form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler.errors import ReconcileError
from reconciler.model.live import parse_time
from reconciler.platform.client import Platform
from reconciler.platform.convert import get

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Finding:
    topic: str  # e.g. "filter id=a|b"
    value: str  # "yes", "no", a value, or "unknown"
    detail: str = ""
    switch: tuple[str, str] | None = None  # the emulator switch and value this matches


@dataclass
class Report:
    principal: str = UNKNOWN
    findings: list[Finding] = field(default_factory=list)

    def switches(self) -> dict[str, str]:
        return {f.switch[0]: f.switch[1] for f in self.findings if f.switch is not None}


class _Reader:
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


def _rows(body: Any) -> list[Any]:
    return list(get(body, "data", []) or []) if isinstance(body, dict) else []


def _denied(status: int, what: str) -> Finding | None:
    if status in (401, 403):
        return Finding(what, UNKNOWN, f"the key may not read this (HTTP {status})")
    return None


async def probe(platform: Platform) -> Report:
    r = _Reader(platform)
    report = Report()
    status, body = await r.get("principal")
    if status == 401:
        raise ReconcileError("the platform refused the API key (HTTP 401)", hint="check MIRU_API_KEY")
    if status == 200 and isinstance(body, dict):
        report.principal = f"{body.get('name', '?')} ({body.get('id', '?')})"
    else:
        report.principal = f"{UNKNOWN} (HTTP {status})"
    report.findings += await _filters(r)
    report.findings += await _expansions(r)
    report.findings += await _sorting(r)
    report.findings += await _current_switch(r)
    return report


async def _filters(r: _Reader) -> list[Finding]:
    status, body = await r.get("devices?limit=2&order_by=id:asc")
    ids = [str(get(d, "id")) for d in _rows(body)]
    denied = _denied(status, "filters")
    if denied or len(ids) < 2:
        return [denied or Finding("filters", UNKNOWN, "needs two devices")]
    a, b = ids
    out = []
    for form, query in (
        ("id=a|b", f"id={a}|{b}"),
        ("id=a,b", f"id={a},{b}"),
        ("id=a&id=b", f"id={a}&id={b}"),
    ):
        status, body = await r.get(f"devices?{query}")
        found = len(_rows(body)) if status == 200 else 0
        value = "yes" if found == 2 else "no"
        out.append(Finding(f"filter {form}", value, f"HTTP {status}, {found} of 2 devices"))
    return out


async def _expansions(r: _Reader) -> list[Finding]:
    out = []
    forms = (
        ("expand=a&expand=b", "expand=current_release&expand=current_deployment"),
        ("expand[]=a&expand[]=b", "expand[]=current_release&expand[]=current_deployment"),
        ("expand=a,b", "expand=current_release,current_deployment"),
    )
    status, body = await r.get("devices?limit=100&" + forms[0][1])
    rows = [d for d in _rows(body) if get(d, "current_release") is not None]
    if _denied(status, "expansions") or not rows:
        return [
            _denied(status, "expansions") or Finding("expansions", UNKNOWN, "needs a device with a release")
        ]
    device = str(get(rows[0], "id"))
    for form, query in forms:
        status, body = await r.get(f"devices?id={device}&{query}")
        d = (_rows(body) or [None])[0]
        both = (
            d is not None
            and get(d, "current_release") is not None
            and get(d, "current_deployment") is not None
        )
        out.append(Finding(f"expand {form}", "yes" if both else "no", f"HTTP {status}"))
    status, body = await r.get(f"deployments?device_id={device}&limit=1&expand=release.config_schemas")
    d = (_rows(body) or [None])[0]
    nested = d is not None and get(get(d, "release"), "config_schemas") is not None
    out.append(Finding("expand release.config_schemas (nested)", "yes" if nested else "no", f"HTTP {status}"))
    return out


def _times(rows: Sequence[Any]) -> list[str]:
    return [str(get(d, "created_at", "")) for d in rows]


async def _sorting(r: _Reader) -> list[Finding]:
    status, body = await r.get("deployments?limit=100&order_by=created_at:asc")
    denied = _denied(status, "sorting")
    asc = _rows(body)
    if denied or len({parse_time(t) for t in _times(asc)}) < 2:
        return [denied or Finding("sorting", UNKNOWN, "needs deployments created at two different times")]
    out = []
    status, body = await r.get("deployments?limit=100&order_by=created_at")
    plain = [parse_time(t) for t in _times(_rows(body))]
    if plain == sorted(plain, reverse=True):
        out.append(Finding("order_by default direction", "descending", "as the sorting page says"))
    elif plain == sorted(plain):
        out.append(Finding("order_by default direction", "ascending", "the docs say descending"))
    else:
        out.append(Finding("order_by default direction", UNKNOWN, f"HTTP {status}, neither order"))
    status, body = await r.get("deployments?limit=100&order_by=created_at:desc")
    out.append(_ties(_rows(body)))
    out.append(_id_order(asc))
    out.append(_precision(_times(asc)))
    return out


def _ties(desc: Sequence[Any]) -> Finding:
    """Same-instant rows of a descending sort: id ascending (the sorting page) or descending
    (the last key's direction)."""
    groups: dict[Any, list[str]] = {}
    for d in desc:
        groups.setdefault(parse_time(str(get(d, "created_at", ""))), []).append(str(get(d, "id")))
    tied = [g for g in groups.values() if len(g) > 1]
    what = "order_by ties (created_at:desc)"
    if not tied:
        return Finding(what, UNKNOWN, "no two deployments share a creation time")
    if all(g == sorted(g) for g in tied):
        return Finding(what, "id ascending", "as the sorting page says", ("sort_ties", "id_asc"))
    if all(g == sorted(g, reverse=True) for g in tied):
        return Finding(what, "id descending", "the last key's direction", ("sort_ties", "id_last_direction"))
    return Finding(what, "not by id", f"{len(tied)} tied group(s) follow neither id order")


def _id_order(rows: Sequence[Any]) -> Finding:
    """Whether ids sort by creation: every pair of rows created at different instants."""
    timed = [(parse_time(str(get(d, "created_at", ""))), str(get(d, "id"))) for d in rows]
    pairs = [(a[1], b[1]) for a in timed for b in timed if a[0] < b[0]]
    what = "ids sort by creation time"
    if len(pairs) < 20:
        return Finding(what, UNKNOWN, f"only {len(pairs)} pairs of deployments created at different times")
    ordered = all(x < y for x, y in pairs)
    switch = ("ids", "time_ordered" if ordered else "random")
    return Finding(what, "yes" if ordered else "no", f"over {len(pairs)} pairs", switch)


def _precision(stamps: Sequence[str]) -> Finding:
    digits = {len(s.split(".", 1)[1].rstrip("Z")) if "." in s else 0 for s in stamps if s}
    value = {frozenset({0}): "seconds", frozenset({3}): "milliseconds", frozenset({6}): "microseconds"}
    found = value.get(frozenset(digits), "auto" if digits <= {0, 6} else UNKNOWN)
    switch = ("timestamps", found) if found != UNKNOWN else None
    detail = f"fraction digits seen: {sorted(digits)}"
    if found == "seconds":
        detail += "; `auto` answers the same until a time has a fraction"
    return Finding("timestamp precision", found, detail, switch)


async def _current_switch(r: _Reader) -> list[Finding]:
    """A device with a queued deployment tells whether "current" switched at create."""
    status, body = await r.get("deployments?limit=100&target_status=deployed&activity_status=queued")
    denied = _denied(status, "current deployment")
    queued = _rows(body) if status == 200 else []
    if denied or not queued:
        return [denied or Finding("current deployment switches", UNKNOWN, "no deployment is queued now")]
    dep = queued[0]
    status, body = await r.get(f"devices?id={get(dep, 'device_id')}&expand=current_deployment")
    d = (_rows(body) or [None])[0]
    current = get(get(d, "current_deployment"), "id") if d is not None else None
    at_create = current == get(dep, "id")
    return [
        Finding(
            "current deployment switches",
            "at create" if at_create else "when the agent confirms",
            f"a queued deployment of device {get(dep, 'device_id')}",
            ("current_switch", "create" if at_create else "confirm"),
        )
    ]
