"""Who may read the enrollment history: the client id and bearer tokens from the seed's
`enrollment` section, and the service's own error envelope (`details`, not `params`)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

DEFAULT_CLIENT_ID = (
    "aa7cf840-9ca9-46a3-9778-9015d6580d50"  # the client in the enrollment service's documented examples
)


DEFAULT_TOKEN = "emulator-enrollment-token"


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
