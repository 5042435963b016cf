"""HTTP conventions shared by every route: errors, auth, versions, paging, filters, order, expand.

Handlers are plain functions `(Ctx) -> Response` run synchronously under the store lock:
no await happens inside a transaction, so each request is atomic within a process.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Send

from reconciler.emulator import agents, clock
from reconciler.emulator.store import Store

VERSIONS = ("2026-03-09.tetons", "2026-05-06.rainier", "2026-08-17.everglades")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_OFFSET = 2**62  # SQLite integers are 64-bit: a larger offset is clamped, not a 500


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.params = dict(params or {})

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.params)


def error_response(
    status: int,
    code: str,
    message: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "params": dict(params or {})}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident!r} not found", {"id": ident, "resource": what})


def invalid(message: str, **params: Any) -> ApiError:
    return ApiError(400, "invalid_request", message, params)


def unprocessable(message: str, code: str = "validation_failed", **params: Any) -> ApiError:
    """422: `validation_failed` (with `params.field`) unless a rule has its own code
    (docs/emulator.md lists them all)."""
    return ApiError(422, code, message, params)


def conflict(message: str, code: str, **params: Any) -> ApiError:
    """409: every conflict names its rule (`name_taken`, `parent_mismatch`, ...)."""
    return ApiError(409, code, message, params)


@dataclass
class Ctx:
    """One request as handlers see it."""

    store: Store
    request: Request
    body: Any
    now: float
    role: str

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def values(self, name: str) -> list[str]:
        """A multi-value query parameter: comma lists and repeated keys both work."""
        out: list[str] = []
        for raw in self.request.query_params.getlist(name):
            out.extend(v.strip() for v in raw.split(",") if v.strip())
        return out

    def enum_values(self, name: str, allowed: Iterable[str]) -> list[str]:
        """A multi-value filter over an enum: unknown values are a 400, as the spec's enums say."""
        values = self.values(name)
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise invalid(f"unknown {name} value(s): {', '.join(unknown)}", param=name, allowed=list(allowed))
        return values

    def expand(self, allowed: Iterable[str]) -> set[str]:
        wanted = set(self.values("expand"))
        unknown = wanted - set(allowed)
        if unknown:
            raise invalid(
                f"unknown expand value(s): {', '.join(sorted(unknown))}",
                param="expand",
                allowed=sorted(allowed),
            )
        return wanted

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise invalid("the request body must be a JSON object")
        return self.body


Handler = Callable[[Ctx], Response]


class StatusCapture:
    """An ASGI `send` that remembers the response status for middleware that logs it.
    500 until a response starts: if the app raises before answering, the server answers 500."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self.send(message)


def key_role(store: Store, request: Request) -> str:
    key = request.headers.get("x-api-key")
    if not key:
        raise ApiError(401, "unauthorized", "missing X-API-Key header")
    role = store.api_keys.get(key)
    if role is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    return role


def _no_constants(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and a NaN stored as a clock
    # offset or a fault rate would break every later request.
    raise ValueError(f"{name} is not a JSON number")


BodyParser = Callable[[bytes], Any]


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except ValueError:
        raise invalid("the request body is not valid JSON") from None


def _version_and_scope(resource: str) -> Callable[[Request, str], None]:
    def check(request: Request, role: str) -> None:
        version = request.headers.get("miru-version")
        if not version:
            raise invalid("missing Miru-Version header", supported=list(VERSIONS))
        if version not in VERSIONS:
            raise invalid(f"unsupported Miru-Version {version!r}", supported=list(VERSIONS))
        if request.method not in ("GET", "HEAD") and role != "rw":
            scope = f"{resource}:write"
            raise ApiError(403, "forbidden", f"the API key lacks the {scope} scope", {"scope": scope})

    return check


def _admin_scope(request: Request, role: str) -> None:
    if role != "rw":
        raise ApiError(403, "forbidden", "the admin API needs a read-write key", {"scope": "emulator:admin"})


def _endpoint(
    handler: Handler, check: Callable[[Request, str], None], parse: BodyParser
) -> Callable[[Request], Any]:
    """Auth (401), the caller's `check` (400/403), the body, then the handler under the
    store lock after the agent simulation has caught up with the clock."""

    async def endpoint(request: Request) -> Response:
        store: Store = request.app.state.store
        try:
            role = key_role(store, request)
            check(request, role)
            body = None
            if request.method in ("POST", "PATCH", "PUT"):
                raw = await request.body()
                body = parse(raw) if raw.strip() else None
            with store.lock:
                now = clock.now(store.conn)
                agents.advance(store.conn, now)
                return handler(Ctx(store, request, body, now, role))
        except ApiError as e:
            return e.response()

    return endpoint


def api(resource: str, handler: Handler) -> Callable[[Request], Any]:
    """Wrap a platform API handler: auth (401/403 by `<resource>:write` scope), Miru-Version (400)."""
    return _endpoint(handler, _version_and_scope(resource), parse_json)


def admin(handler: Handler, *, parse: BodyParser = parse_json) -> Callable[[Request], Any]:
    """Wrap an admin handler: needs a read-write key, no Miru-Version."""
    return _endpoint(handler, _admin_scope, parse)


# --- paging -------------------------------------------------------------------------------


def _int_param(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer", param=name) from None


def page_window(ctx: Ctx) -> tuple[int, int]:
    """(offset, limit) with out-of-range values clamped: limit to 1..100, offset to 0..2**62."""
    limit = min(MAX_LIMIT, max(1, _int_param(ctx, "limit", DEFAULT_LIMIT)))
    offset = min(MAX_OFFSET, max(0, _int_param(ctx, "offset", 0)))
    return offset, limit


def order_sql(ctx: Ctx, allowed: Mapping[str, str], default: str = "created_at:desc", table: str = "") -> str:
    """ORDER BY for `order_by` (comma list of field:dir), always ending with an id tie-break
    so paging never duplicates or skips rows that share a sort value."""
    specs = ctx.values("order_by") or [default]
    prefix = f"{table}." if table else ""
    parts: list[str] = []
    used: set[str] = set()
    for spec in specs:
        field, _, direction = spec.partition(":")
        direction = direction or "asc"
        if field not in allowed or direction not in ("asc", "desc"):
            raise invalid(
                f"unknown order_by value {spec!r}",
                param="order_by",
                allowed=[f"{f}:{d}" for f in allowed for d in ("asc", "desc")],
            )
        if field in used:
            continue
        used.add(field)
        parts.append(f"{prefix}{allowed[field]} {direction.upper()}")
    if "id" not in used:
        last = specs[-1].partition(":")[2] or "asc"
        parts.append(f"{prefix}id {last.upper()}")
    return ", ".join(parts)


@dataclass
class Filter:
    where: list[str]
    args: list[Any]

    def any_of(self, column: str, values: Sequence[str]) -> None:
        if values:
            self.where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            self.args.extend(values)

    def add(self, clause: str, *args: Any) -> None:
        self.where.append(clause)
        self.args.extend(args)

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.where)) if self.where else ""


def new_filter() -> Filter:
    return Filter([], [])


def list_page(
    ctx: Ctx,
    table: str,
    flt: Filter,
    order: str,
    render: Callable[[list[sqlite3.Row]], list[dict[str, Any]]],
    total_count: bool,
) -> JSONResponse:
    offset, limit = page_window(ctx)
    rows = ctx.conn.execute(
        f"SELECT * FROM {table}{flt.sql()} ORDER BY {order} LIMIT ? OFFSET ?", [*flt.args, limit + 1, offset]
    ).fetchall()
    has_more = len(rows) > limit
    body: dict[str, Any] = {"object": "list", "limit": limit, "offset": offset, "has_more": has_more}
    if total_count:
        body["total_count"] = ctx.conn.execute(
            f"SELECT COUNT(*) FROM {table}{flt.sql()}", flt.args
        ).fetchone()[0]
    body["data"] = render(list(rows[:limit]))
    return JSONResponse(body)


def ok(body: Any) -> JSONResponse:
    return JSONResponse(body)


def req_str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise invalid(f"{name} is required and must be a non-empty string", field=name)
    return value


def opt_str(body: Mapping[str, Any], name: str, *, nonempty: bool = False) -> str | None:
    """An optional string field; `nonempty` for names, which an update may not blank out."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or (nonempty and not value):
        raise invalid(f"{name} must be a {'non-empty ' if nonempty else ''}string", field=name)
    return value
