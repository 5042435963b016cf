"""Per-device agent events (`deployment.deployed`, `deployment.removed`) in the platform's event envelope.

The agent simulation appends rows to the `events` table as it moves deployments; this
module only serves them. Delivery is at-least-once, like a webhook: a consumer keeps
the highest `id` it has processed and asks again with `after=<id>`; it may see an event
twice (e.g. when it re-reads after a crash), so it must treat events as idempotent
(dedupe by `id`, or by `data.deployment_id` + `type`). Ids only increase, but they are
global across devices, so one device's ids have gaps.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator.endpoint import admin
from reconciler.emulator.errors import invalid, not_found
from reconciler.emulator.http import Ctx, ok
from reconciler.emulator.times import iso

EVENT_TYPES = ("deployment.deployed", "deployment.removed")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class BadQuery(ValueError):
    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


def parse_query(params: dict[str, str]) -> tuple[int, tuple[str, ...], int]:
    """`after` (default 0), `types` (comma list, default all) and `limit` (1..1000, default 100)."""
    try:
        after = int(params.get("after", "0"))
    except ValueError:
        raise BadQuery("after must be an integer event id", "after") from None
    types = tuple(t for t in (s.strip() for s in params.get("types", "").split(",")) if t) or EVENT_TYPES
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise BadQuery(
            f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}", "types"
        )
    try:
        limit = int(params.get("limit", str(DEFAULT_LIMIT)))
    except ValueError:
        raise BadQuery("limit must be an integer", "limit") from None
    return after, types, max(1, min(MAX_LIMIT, limit))


def find_device_id(conn: sqlite3.Connection, id_or_name: str) -> str | None:
    row = conn.execute(
        "SELECT id FROM devices WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1",
        (id_or_name, id_or_name, id_or_name),
    ).fetchone()
    return str(row[0]) if row else None


def read_events(
    conn: sqlite3.Connection, device_id: str, after: int, types: tuple[str, ...], limit: int
) -> dict[str, Any]:
    marks = ",".join("?" for _ in types)
    rows = conn.execute(
        f"SELECT id, type, occurred_at, data FROM events WHERE device_id = ? AND id > ? "
        f"AND type IN ({marks}) ORDER BY id LIMIT ?",
        (device_id, after, *types, limit + 1),
    ).fetchall()
    events = [
        {
            "object": "event",
            "id": int(r[0]),
            "type": str(r[1]),
            "occurred_at": iso(r[2]),
            "data": json.loads(r[3]),
        }
        for r in rows[:limit]
    ]
    return {
        "object": "list",
        "device_id": device_id,
        "data": events,
        "has_more": len(rows) > limit,
        "next_after": events[-1]["id"] if events else after,
    }


def get_events(ctx: Ctx) -> Response:
    """`GET /_emulator/devices/{device}/events?after=N&types=a,b&limit=M` (the admin wrapper
    has already brought the agent simulation up to now)."""
    device = ctx.path("device")
    try:
        after, types, limit = parse_query(dict(ctx.request.query_params))
    except BadQuery as e:
        raise invalid(str(e), param=e.param) from None
    device_id = find_device_id(ctx.conn, device)
    if device_id is None:
        raise not_found("device", device)
    return ok(read_events(ctx.conn, device_id, after, types, limit))


def routes() -> list[Route]:
    return [Route("/_emulator/devices/{device}/events", admin(get_events), methods=["GET"])]
