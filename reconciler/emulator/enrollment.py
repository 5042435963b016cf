"""The enrollment history service: a device's enrollment history (agent installs), per client.

    GET /v2/clients/{client_id}/devices/{device_id}/deployments
    GET /v2/clients/{client_id}/devices/{device_id}/deployments/{deployment_id}

Bearer-token auth; errors in that API's own envelope `{"error": {"code", "message",
"details"}}` (not the platform's `params`). Records come from the seed's `enrollments`
section (table `enrollments`); the client id and tokens from the seed's `enrollment`
section (kept in `meta` under `enrollment`), defaulting to `DEFAULT_CLIENT_ID` and one
token, `DEFAULT_TOKEN`, with access to it. `{device_id}` is the emulator's device id
or the device's name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.emulator.store import Store

DEFAULT_CLIENT_ID = (
    "aa7cf840-9ca9-46a3-9778-9015d6580d50"  # the client in the enrollment service's documented examples
)
DEFAULT_TOKEN = "emulator-enrollment-token"
STATUSES = ("success", "error", "pending")
SORT_FIELDS = ("enrollment_date", "status", "created_at")
SORT_ORDERS = ("asc", "desc")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
BASE = "/v2/clients/{client_id}/devices/{device_id}/deployments"


@dataclass(frozen=True)
class Access:
    client_id: str
    tokens: dict[str, tuple[str, ...]]  # token -> client ids it may read


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(
            {"error": {"code": self.code, "message": self.message, "details": self.details}},
            status_code=self.status,
            headers=headers,
        )


def parse_access(config: Any) -> Access:
    """The seed's `enrollment: {client_id, tokens}`; a token is a string (access to the
    client) or `{token, clients: [...]}` (access to exactly those clients; `[]` = none)."""
    config = config if isinstance(config, dict) else {}
    client_id = str(config.get("client_id") or DEFAULT_CLIENT_ID)
    tokens: dict[str, tuple[str, ...]] = {}
    for entry in config.get("tokens") or [DEFAULT_TOKEN]:
        if isinstance(entry, str):
            tokens[entry] = (client_id,)
        elif isinstance(entry, dict) and isinstance(entry.get("token"), str):
            clients = entry.get("clients")
            tokens[entry["token"]] = (
                tuple(str(c) for c in clients) if isinstance(clients, list) else (client_id,)
            )
    return Access(client_id=client_id, tokens=tokens)


def load_access(conn: sqlite3.Connection) -> Access:
    row = conn.execute("SELECT value FROM meta WHERE key = 'enrollment'").fetchone()
    return parse_access(json.loads(row[0]) if row else None)


def authorize(request: Request, access: Access) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Authentication required: send Authorization: Bearer <token>")
    clients = access.tokens.get(token.strip())
    if clients is None:
        raise ApiError(401, "unauthorized", "Invalid or expired token")
    client_id = request.path_params["client_id"]
    if client_id not in clients:
        raise ApiError(403, "forbidden", "Insufficient permissions for this client", {"client_id": client_id})
    if client_id != access.client_id:
        raise ApiError(404, "not_found", "Client not found", {"client_id": client_id})


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


def _when(text: Any) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def parse_list_query(params: dict[str, str]) -> tuple[str | None, str, str, int, str | None]:
    status = params.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(
            400,
            "invalid_parameter",
            f"Invalid status {status!r}; expected one of {', '.join(STATUSES)}",
            {"parameter": "status", "value": status},
        )
    sort_by = params.get("sort_by", "enrollment_date")
    if sort_by not in SORT_FIELDS:
        raise ApiError(
            400,
            "invalid_parameter",
            f"Invalid sort_by {sort_by!r}; expected one of {', '.join(SORT_FIELDS)}",
            {"parameter": "sort_by", "value": sort_by},
        )
    sort_order = params.get("sort_order", "desc")
    if sort_order not in SORT_ORDERS:
        raise ApiError(
            400,
            "invalid_parameter",
            f"Invalid sort_order {sort_order!r}; expected asc or desc",
            {"parameter": "sort_order", "value": sort_order},
        )
    raw_size = params.get("page_size", str(DEFAULT_PAGE_SIZE))
    try:
        page_size = int(raw_size)
    except ValueError:
        raise ApiError(
            400,
            "invalid_parameter",
            "page_size must be an integer",
            {"parameter": "page_size", "value": raw_size},
        ) from None
    if page_size < 1:
        raise ApiError(
            400,
            "invalid_parameter",
            "page_size must be at least 1",
            {"parameter": "page_size", "value": raw_size},
        )
    return status, sort_by, sort_order, min(page_size, MAX_PAGE_SIZE), params.get("cursor")


def _fingerprint(*parts: str | None) -> str:
    return hashlib.sha256("\0".join(p or "" for p in parts).encode()).hexdigest()[:16]


def encode_cursor(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> int:
    """The offset a cursor stands for. A cursor only continues the query that issued it."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, issued_for = data["o"], data["f"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(400, "invalid_cursor", "Invalid pagination cursor", {"cursor": cursor}) from None
    if issued_for != fingerprint or not isinstance(offset, int) or offset < 0:
        raise ApiError(
            400,
            "invalid_cursor",
            "The cursor does not belong to this query; start again without a cursor",
            {"cursor": cursor},
        )
    return offset


def list_page(
    records: list[dict[str, Any]], query: tuple[str | None, str, str, int, str | None], scope: str
) -> dict[str, Any]:
    status, sort_by, sort_order, page_size, cursor = query
    matching = [r for r in records if status is None or r["status"] == status]

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        primary = r["status"] if sort_by == "status" else _when(r[sort_by])
        return (primary, r["id"])  # id breaks ties so pages never overlap

    matching.sort(key=key, reverse=sort_order == "desc")
    fingerprint = _fingerprint(scope, status, sort_by, sort_order)
    offset = decode_cursor(cursor, fingerprint) if cursor else 0
    page = matching[offset : offset + page_size]
    end = offset + len(page)
    return {
        "data": [
            {"id": r["id"], "status": r["status"], "enrollment_date": r["enrollment_date"]} for r in page
        ],
        "total_count": len(matching),
        "next_cursor": encode_cursor(end, fingerprint) if end < len(matching) else None,
    }


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
