"""Handlers as Starlette endpoints: auth, the JSON body, then the handler under the store lock
after the agent simulation has caught up with the clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Send

from reconciler.emulator import agent_steps, clock, platform
from reconciler.emulator.auth import admin_scope, key_scopes, version_and_scope
from reconciler.emulator.errors import ApiError, invalid
from reconciler.emulator.http import Ctx, Handler
from reconciler.emulator.store import Store


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
                agent_steps.advance(store.conn, now)
                return handler(Ctx(store, request, body, now, name, held))
        except ApiError as e:
            return e.response()

    return endpoint


def api(resource: str, handler: Handler, *, needs: Sequence[str] | None = None) -> Callable[[Request], Any]:
    """Wrap a platform API handler: auth (401), Miru-Version (400), scopes (403): `needs`, by
    default `<resource>:read` for GET and `<resource>:write` otherwise (the spec's tables)."""
    return _endpoint(handler, version_and_scope(resource, needs), parse_json)


def admin(handler: Handler, *, parse: BodyParser = parse_json) -> Callable[[Request], Any]:
    """Wrap an admin handler: needs a read-write key, no Miru-Version."""
    return _endpoint(handler, admin_scope, parse)
