"""The enrollment history service: a device's enrollment history (agent installs), per client.

    GET /v2/clients/{client_id}/devices/{device_id}/deployments
    GET /v2/clients/{client_id}/devices/{device_id}/deployments/{deployment_id}

Bearer-token auth; errors in that API's own envelope `{"error": {"code", "message",
"details"}}` (not the platform's `params`). Records come from the seed's `enrollments`
section (table `enrollments`); the client id and tokens from the seed's `enrollment`
section (kept in `meta` under `enrollment`; `enrollment_access`), defaulting to one client and one
token with access to it. `{device_id}` is the emulator's device id
or the device's name.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.emulator.enrollment_access import ApiError, authorize, load_access
from reconciler.emulator.enrollment_pages import list_page, parse_list_query
from reconciler.emulator.store import Store

BASE = "/v2/clients/{client_id}/devices/{device_id}/deployments"


def find_device(conn: sqlite3.Connection, id_or_name: str) -> str:
    row = conn.execute(
        "SELECT id FROM devices WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1",
        (id_or_name, id_or_name, id_or_name),
    ).fetchone()
    if row is None:
        raise ApiError(404, "not_found", "Device not found", {"device_id": id_or_name})
    return str(row[0])


def _record(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    (id_, status, enrollment_date, token_id, user_id, error_logs, created_at, updated_at) = tuple(row)
    return {
        "id": id_,
        "status": status,
        "enrollment_date": enrollment_date,
        "enrollment_token_id": token_id,
        "user_id": user_id,
        # Only failed attempts carry logs; successful and pending ones answer null.
        "error_logs": json.loads(error_logs) if status == "error" and error_logs else None,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def device_records(conn: sqlite3.Connection, device_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, status, enrollment_date, enrollment_token_id, user_id, error_logs, created_at, "
        "updated_at FROM enrollments WHERE device_id = ?",
        (device_id,),
    ).fetchall()
    return [_record(r) for r in rows]


def _history(request: Request) -> tuple[str, list[dict[str, Any]]]:
    """Authorize (401/403/404 for the client), then the device's id and records (404)."""
    store: Store = request.app.state.store
    with store.lock:  # read-only: the lock, no write transaction
        authorize(request, load_access(store.conn))
        device_id = find_device(store.conn, request.path_params["device_id"])
        return device_id, device_records(store.conn, device_id)


async def list_deployments(request: Request) -> Response:
    try:
        device_id, records = _history(request)
        query = parse_list_query(dict(request.query_params))
        scope = f"{request.path_params['client_id']}/{device_id}"
        return JSONResponse(list_page(records, query, scope))
    except ApiError as e:
        return e.response()


async def get_deployment(request: Request) -> Response:
    try:
        _, records = _history(request)
        wanted = request.path_params["deployment_id"]
        for r in records:
            if r["id"] == wanted:
                return JSONResponse(r)
        raise ApiError(404, "not_found", "Deployment not found", {"deployment_id": wanted})
    except ApiError as e:
        return e.response()


def routes() -> list[Route]:
    return [
        Route(BASE, list_deployments, methods=["GET"]),
        Route(BASE + "/{deployment_id}", get_deployment, methods=["GET"]),
    ]
