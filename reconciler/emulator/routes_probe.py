"""A health endpoint per device, as a robot's own service would offer it, for the rollout's
`health_check.probe`. Tests script what each device answers:

    GET /_emulator/probe/{device}      the device's answer (no key: a robot's endpoint has none)
    PUT /_emulator/probe/{device}      admin: {"status": 503, "body": {"state": "degraded"}}
    DELETE /_emulator/probe/{device}   admin: back to the default, 200 {"state": "ok"}

`{device}` is a name or an id (a probe URL may use either). Answers live in the db, so every app
over one file agrees.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.emulator.endpoint import admin
from reconciler.emulator.errors import invalid
from reconciler.emulator.http import Ctx
from reconciler.emulator.store import Store, write

DEFAULT_STATUS = 200


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS probe_answers (device TEXT PRIMARY KEY, status INTEGER NOT NULL, body TEXT NOT NULL)"
    )


def _keys(conn: sqlite3.Connection, device: str) -> list[str]:
    """The device's name and id, when it exists (answers are scripted by either)."""
    row = conn.execute("SELECT id, name FROM devices WHERE id = ? OR name = ?", (device, device)).fetchone()
    return [str(row[0]), str(row[1])] if row else [device]


async def answer(request: Request) -> Response:
    store: Store = request.app.state.store
    device = str(request.path_params["device"])
    with store.lock:
        keys = _keys(store.conn, device)
        row = store.conn.execute(
            f"SELECT status, body FROM probe_answers WHERE device IN ({','.join('?' * len(keys))})", keys
        ).fetchone()
    if row is None:
        return JSONResponse({"state": "ok", "device": device}, status_code=DEFAULT_STATUS)
    return Response(row[1], status_code=int(row[0]), media_type="application/json")


def script(ctx: Ctx) -> Response:
    body: Any = ctx.body if isinstance(ctx.body, dict) else {}
    status = body.get("status", DEFAULT_STATUS)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise invalid("status must be an HTTP status code", param="status")
    text = body["raw"] if isinstance(body.get("raw"), str) else json.dumps(body.get("body", {}))
    with write(ctx.conn):
        for key in _keys(ctx.conn, ctx.path("device")):
            ctx.conn.execute("DELETE FROM probe_answers WHERE device = ?", (key,))
        ctx.conn.execute(
            "INSERT INTO probe_answers (device, status, body) VALUES (?, ?, ?)",
            (ctx.path("device"), status, text),
        )
    return JSONResponse({"device": ctx.path("device"), "status": status})


def clear(ctx: Ctx) -> Response:
    with write(ctx.conn):
        for key in _keys(ctx.conn, ctx.path("device")):
            ctx.conn.execute("DELETE FROM probe_answers WHERE device = ?", (key,))
    return Response(status_code=204)


def routes() -> list[Route]:
    return [
        Route("/_emulator/probe/{device}", answer, methods=["GET"]),
        Route("/_emulator/probe/{device}", admin(script), methods=["PUT"]),
        Route("/_emulator/probe/{device}", admin(clear), methods=["DELETE"]),
    ]
