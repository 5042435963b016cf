"""Probe questions about order: how lists sort by default and break ties, whether ids sort by
creation, and the precision of timestamps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.model.live import parse_time
from reconciler.platform.convert import get
from reconciler.platform.probe_reader import UNKNOWN, Finding, Reader, refused, rows_of


def _times(rows: Sequence[Any]) -> list[str]:
    return [str(get(d, "created_at", "")) for d in rows]


async def sorting(r: Reader) -> list[Finding]:
    status, body = await r.get("deployments?limit=100&order_by=created_at:asc")
    denied = refused(status, "sorting")
    asc = rows_of(body)
    if denied or len({parse_time(t) for t in _times(asc)}) < 2:
        return [denied or Finding("sorting", UNKNOWN, "needs deployments created at two different times")]
    out = []
    status, body = await r.get("deployments?limit=100&order_by=created_at")
    plain = [parse_time(t) for t in _times(rows_of(body))]
    if plain == sorted(plain, reverse=True):
        out.append(Finding("order_by default direction", "descending", "as the sorting page says"))
    elif plain == sorted(plain):
        out.append(Finding("order_by default direction", "ascending", "the docs say descending"))
    else:
        out.append(Finding("order_by default direction", UNKNOWN, f"HTTP {status}, neither order"))
    status, body = await r.get("deployments?limit=100&order_by=created_at:desc")
    out.append(_ties(rows_of(body)))
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
