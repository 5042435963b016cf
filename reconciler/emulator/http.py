"""HTTP conventions shared by every route: errors, auth, versions, paging, filters, order, expand.

Handlers are plain functions `(Ctx) -> Response` run synchronously under the store lock:
no await happens inside a transaction, so each request is atomic within a process.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Send

from reconciler.emulator import agents, clock, pages, platform, scopes, views
from reconciler.emulator.store import Store

# Only the version whose shapes the emulator answers in: an older version (tetons, the SDK's
# default; rainier) is refused rather than answered in everglades shapes it did not ask for.
VERSIONS = ("2026-08-17.everglades",)
OLDER_VERSIONS = ("2026-03-09.tetons", "2026-05-06.rainier")
# The docs' multi-value separator is `|`; commas (the spec's `style: form, explode: false`, which
# the SDK sends) and repeated keys work too.
SEPARATORS = re.compile(r"[|,]")
MAX_EXPAND_DEPTH = 4  # "expand[]=field1.field2.field3.field4 is the maximum depth"
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
    key_name: str
    scopes: frozenset[str]

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def values(self, name: str) -> list[str]:
        """A multi-value query parameter: `a|b`, `a,b` and repeated keys (also as `name[]`)."""
        out: list[str] = []
        for key in (name, f"{name}[]"):
            for raw in self.request.query_params.getlist(key):
                out.extend(v.strip() for v in SEPARATORS.split(raw) if v.strip())
        return out

    def require(self, *needed: str) -> None:
        """403 unless the key holds every scope in `needed` (or its resource's `manage`)."""
        check_scopes(self.scopes, needed)

    def enum_values(self, name: str, allowed: Iterable[str]) -> list[str]:
        """A multi-value filter over an enum: unknown values are a 400, as the spec's enums say."""
        values = self.values(name)
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise invalid(f"unknown {name} value(s): {', '.join(unknown)}", param=name, allowed=list(allowed))
        return values

    def expand(self, resource: str, extra: Iterable[str] = ()) -> set[str]:
        """The request's expansions of `resource` (a table name in `views.EXPANSIONS`):
        `expand=a&expand=b`, `expand[]=a`, `expand=a,b`; nested ones as dotted paths
        (`release.config_schemas`, at most four fields). A nested path expands its prefixes too,
        as the docs say. `extra` are top-level-only values (`total_count` on lists)."""
        wanted: set[str] = set()
        for path in self.values("expand"):
            fields = path.split(".")
            if len(fields) > MAX_EXPAND_DEPTH:
                raise invalid(
                    f"expand value {path!r} nests deeper than {MAX_EXPAND_DEPTH} levels",
                    param="expand",
                    max_depth=MAX_EXPAND_DEPTH,
                )
            options: Mapping[str, str | None] = {**views.EXPANSIONS[resource], **dict.fromkeys(extra)}
            for depth, name in enumerate(fields):
                if name not in options:
                    raise invalid(f"unknown expand value {path!r}", param="expand", allowed=sorted(options))
                child = options[name]
                options = views.EXPANSIONS[child] if child else {}
                wanted.add(".".join(fields[: depth + 1]))
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


def key_scopes(store: Store, request: Request) -> tuple[str, frozenset[str]]:
    """(name, scopes) of the request's key: the server's keys first, then the db's (seed and
    admin API). 401 without a key or for an unknown one."""
    key = request.headers.get("x-api-key")
    if not key:
        raise ApiError(401, "unauthorized", "missing X-API-Key header")
    held = store.api_keys.get(key)
    if held is not None:
        return key_label(held), held
    found = scopes.stored_key(store.conn, key)
    if found is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    return found


def key_label(held: frozenset[str]) -> str:
    if held == scopes.ROLES["rw"]:
        return "Emulator read-write key"
    if held == scopes.ROLES["ro"]:
        return "Emulator read-only key"
    return "Emulator key"


def check_scopes(held: frozenset[str], needed: Iterable[str]) -> None:
    lacking = scopes.missing(held, needed)
    if lacking:
        raise ApiError(
            403,
            "forbidden",
            f"the API key lacks the {', '.join(lacking)} scope{'s' if len(lacking) > 1 else ''}",
            {"scope": lacking[0], "missing_scopes": lacking},
        )


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


def _version_and_scope(
    resource: str, needs: Sequence[str] | None
) -> Callable[[Request, frozenset[str]], None]:
    def check(request: Request, held: frozenset[str]) -> None:
        version = request.headers.get("miru-version")
        if not version:
            raise invalid("missing Miru-Version header", supported=list(VERSIONS))
        if version not in VERSIONS:
            why = " (the emulator answers only in everglades shapes)" if version in OLDER_VERSIONS else ""
            raise invalid(f"unsupported Miru-Version {version!r}{why}", supported=list(VERSIONS))
        if needs is not None:
            check_scopes(held, needs)
        else:
            check_scopes(held, [f"{resource}:{'read' if request.method in ('GET', 'HEAD') else 'write'}"])

    return check


def _admin_scope(request: Request, held: frozenset[str]) -> None:
    if not scopes.has(held, scopes.ADMIN):
        raise ApiError(403, "forbidden", "the admin API needs a read-write key", {"scope": scopes.ADMIN})


def _endpoint(
    handler: Handler, check: Callable[[Request, frozenset[str]], None], parse: BodyParser
) -> Callable[[Request], Any]:
    """Auth (401), the caller's `check` (400/403), the body, then the handler under the
    store lock after the agent simulation has caught up with the clock."""

    async def endpoint(request: Request) -> Response:
        store: Store = request.app.state.store
        try:
            name, held = key_scopes(store, request)
            check(request, held)
            body = None
            if request.method in ("POST", "PATCH", "PUT"):
                raw = await request.body()
                body = parse(raw) if raw.strip() else None
            with store.lock, platform.active(platform.load(store.conn)):
                now = clock.now(store.conn)
                agents.advance(store.conn, now)
                return handler(Ctx(store, request, body, now, name, held))
        except ApiError as e:
            return e.response()

    return endpoint


def api(resource: str, handler: Handler, *, needs: Sequence[str] | None = None) -> Callable[[Request], Any]:
    """Wrap a platform API handler: auth (401), Miru-Version (400), scopes (403): `needs`, by
    default `<resource>:read` for GET and `<resource>:write` otherwise (the spec's tables)."""
    return _endpoint(handler, _version_and_scope(resource, needs), parse_json)


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
    """ORDER BY for `order_by` (comma list of `field[:dir]`), as the docs' sorting page says: the
    direction defaults to descending, and `id` breaks ties unless `id` is already a sort field,
    so paging never duplicates or skips rows that share a sort value. The docs break ties by id
    ascending (`sort_ties: id_asc`); the default keeps the last key's direction, which the
    product still relies on (docs/emulator.md, platform switches)."""
    specs = ctx.values("order_by") or [default]
    prefix = f"{table}." if table else ""
    parts: list[str] = []
    used: set[str] = set()
    for spec in specs:
        field, _, direction = spec.partition(":")
        direction = direction or "desc"
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
        if platform.current().sort_ties == "id_asc":
            parts.append(f"{prefix}id ASC")
        else:
            parts.append(f"{prefix}id {(specs[-1].partition(':')[2] or 'desc').upper()}")
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
    rows = pages.fetch(ctx.conn, ctx.store.pages, table, flt.sql(), flt.args, order, offset, limit + 1)
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
