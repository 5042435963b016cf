"""The request log: every request the emulator answered, kept in the db.

Tests use it to count what the reconciler asked for ("one page per 100 devices").
It records method, route template, path, status and the emulator-clock time; never
headers, so never the X-API-Key. Reads of the log itself and the admin reset (which
empties it) are not logged.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.emulator import clock
from reconciler.emulator.endpoint import StatusCapture, admin
from reconciler.emulator.errors import invalid
from reconciler.emulator.http import Ctx, ok
from reconciler.emulator.store import Store, write
from reconciler.emulator.times import iso_required

SCHEMA = """
CREATE TABLE IF NOT EXISTS emu_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    at TEXT NOT NULL
);
"""

LOG_PATH = "/_emulator/requests"
# Not logged: reading the log (it would change what it reads) and the reset that empties it
# (so the log starts empty after a reset).
UNLOGGED = (LOG_PATH, "/_emulator/reset")
MAX_ROWS = 200_000


def ensure_schema(conn: sqlite3.Connection) -> None:
    # Not executescript: it would commit whatever transaction the caller has open.
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def route_template(scope: Scope, root_path: str) -> str | None:
    """The matched route's template (`/beta/devices/{device_id}`), mounts included.
    Starlette's router leaves the innermost route in `scope["route"]` and the mount
    prefix in `scope["root_path"]`."""
    route: BaseRoute | None = scope.get("route")
    if not isinstance(route, Route):
        return None
    prefix = str(scope.get("root_path", ""))[len(root_path) :]
    return prefix + route.path


def record(conn: sqlite3.Connection, method: str, route: str, path: str, status: int, at: str) -> None:
    cursor = conn.execute(
        "INSERT INTO emu_requests (method, route, path, status, at) VALUES (?, ?, ?, ?, ?)",
        (method, route, path, status, at),
    )
    row_id = cursor.lastrowid or 0
    if row_id % 1000 == 0:
        # A long-running served emulator keeps only the newest MAX_ROWS entries.
        conn.execute("DELETE FROM emu_requests WHERE id <= ?", (row_id - MAX_ROWS,))


def read_log(
    conn: sqlite3.Connection, path_prefix: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """Totals over the whole log (or the paths under `path_prefix`); `requests` lists the
    newest `limit` entries (all when None), oldest first."""
    where, params = (
        ("", []) if not path_prefix else ("WHERE path LIKE ? ESCAPE '\\'", [_like_prefix(path_prefix)])
    )
    by_route = _counts(conn, "method || ' ' || route", "method, route", where, params)
    by_status = _counts(conn, "CAST(status AS TEXT)", "status", where, params)
    rows = conn.execute(
        f"SELECT id, method, route, path, status, at FROM emu_requests {where} ORDER BY id DESC LIMIT ?",
        [*params, -1 if limit is None else limit],
    ).fetchall()
    requests = [
        {"id": r[0], "method": r[1], "route": r[2], "path": r[3], "status": r[4], "at": r[5]}
        for r in reversed(rows)
    ]
    return {
        "total": sum(by_route.values()),
        "by_route": by_route,
        "by_status": by_status,
        "requests": requests,
    }


def _counts(conn: sqlite3.Connection, key: str, group: str, where: str, params: list[str]) -> dict[str, int]:
    """Requests per `key`, in the order each key first appears in the log."""
    sql = f"SELECT {key}, COUNT(*) FROM emu_requests {where} GROUP BY {group} ORDER BY MIN(id)"
    return {str(k): n for k, n in conn.execute(sql, params)}


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def clear_log(conn: sqlite3.Connection) -> int:
    return conn.execute("DELETE FROM emu_requests").rowcount


def reset(conn: sqlite3.Connection) -> None:
    clear_log(conn)


class RequestLogMiddleware:
    """Outermost middleware, so it sees the final status, injected faults included."""

    def __init__(self, app: ASGIApp, *, store: Store):
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLOGGED:
            await self.app(scope, receive, send)
            return
        root_path = str(scope.get("root_path", ""))
        capture = StatusCapture(send)
        try:
            await self.app(scope, receive, capture)
        finally:
            path = str(scope.get("path", ""))
            route = route_template(scope, root_path) or path
            with self.store.lock, write(self.store.conn) as conn:
                record(conn, str(scope["method"]), route, path, capture.status, iso_required(clock.now(conn)))


def get_requests(ctx: Ctx) -> Response:
    """`GET /_emulator/requests[?path=/beta][&limit=N]`: totals by route and by status, and
    the (newest N) entries."""
    raw = ctx.request.query_params.get("limit")
    try:
        limit = None if raw in (None, "") else max(0, int(raw))
    except ValueError:
        raise invalid("limit must be an integer", param="limit") from None
    return ok(read_log(ctx.conn, ctx.request.query_params.get("path"), limit))


def delete_requests(ctx: Ctx) -> Response:
    with write(ctx.conn) as conn:
        cleared = clear_log(conn)
    return ok({"cleared": cleared})


def routes() -> list[Route]:
    return [
        Route(LOG_PATH, admin(get_requests), methods=["GET"]),
        Route(LOG_PATH, admin(delete_requests), methods=["DELETE"]),
    ]
