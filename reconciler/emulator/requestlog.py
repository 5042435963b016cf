"""The request log: every request the emulator answered, kept in the db.

Tests use it to count what the reconciler asked for ("one page per 100 devices").
It records method, route template, path, status and the emulator-clock time; never
headers, so never the X-API-Key. Reads of the log itself and the admin reset (which
empties it) are not logged. The rows are kept by `request_rows`.
"""

from __future__ import annotations

import sqlite3

from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.emulator import clock, request_rows
from reconciler.emulator.endpoint import StatusCapture, admin
from reconciler.emulator.errors import invalid
from reconciler.emulator.http import Ctx, ok
from reconciler.emulator.store import Store, write
from reconciler.emulator.times import iso_required

LOG_PATH = "/_emulator/requests"
# Not logged: reading the log (it would change what it reads) and the reset that empties it
# (so the log starts empty after a reset).
UNLOGGED = (LOG_PATH, "/_emulator/reset")


def route_template(scope: Scope, root_path: str) -> str | None:
    """The matched route's template (`/beta/devices/{device_id}`), mounts included.
    Starlette's router leaves the innermost route in `scope["route"]` and the mount
    prefix in `scope["root_path"]`."""
    route: BaseRoute | None = scope.get("route")
    if not isinstance(route, Route):
        return None
    prefix = str(scope.get("root_path", ""))[len(root_path) :]
    return prefix + route.path


def ensure_schema(conn: sqlite3.Connection) -> None:
    request_rows.ensure_schema(conn)


def reset(conn: sqlite3.Connection) -> None:
    request_rows.clear_log(conn)


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
                request_rows.record(
                    conn, str(scope["method"]), route, path, capture.status, iso_required(clock.now(conn))
                )


def get_requests(ctx: Ctx) -> Response:
    """`GET /_emulator/requests[?path=/beta][&limit=N]`: totals by route and by status, and
    the (newest N) entries."""
    raw = ctx.request.query_params.get("limit")
    try:
        limit = None if raw in (None, "") else max(0, int(raw))
    except ValueError:
        raise invalid("limit must be an integer", param="limit") from None
    return ok(request_rows.read_log(ctx.conn, ctx.request.query_params.get("path"), limit))


def delete_requests(ctx: Ctx) -> Response:
    with write(ctx.conn) as conn:
        cleared = request_rows.clear_log(conn)
    return ok({"cleared": cleared})


def routes() -> list[Route]:
    return [
        Route(LOG_PATH, admin(get_requests), methods=["GET"]),
        Route(LOG_PATH, admin(delete_requests), methods=["DELETE"]),
    ]
