"""The admin API's settings: the platform switches (how the emulator reads what the docs leave
open) and extra API keys with their scopes."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import (
    platform,
    scopes,
    store,
)
from reconciler.emulator.endpoint import admin
from reconciler.emulator.errors import invalid
from reconciler.emulator.http import Ctx, ok


def get_platform(ctx: Ctx) -> Response:
    return ok(
        {**platform.load(ctx.conn).as_dict(), "choices": {k: list(v) for k, v in platform.CHOICES.items()}}
    )


def set_platform(ctx: Ctx) -> Response:
    """Change some switches (the others keep their value); applies from the next request."""
    try:
        settings = platform.merged(platform.load(ctx.conn), ctx.obj())
    except platform.PlatformError as e:
        raise invalid(str(e), field="platform") from None
    with store.write(ctx.conn):
        platform.save(ctx.conn, settings)
    return ok(settings.as_dict())


def add_api_key(ctx: Ctx) -> Response:
    """A key with exactly the scopes given (kept in the db: every process serving it accepts it)."""
    body = ctx.obj()
    key, name, wanted = body.get("key"), body.get("name"), body.get("scopes")
    if not isinstance(key, str) or len(key) < 8:
        raise invalid("key must be a string of at least 8 characters", field="key")
    if name is not None and (not isinstance(name, str) or not name):
        raise invalid("name must be a non-empty string", field="name")
    if not isinstance(wanted, list) or not all(isinstance(s, str) for s in wanted):
        raise invalid("scopes must be a list of scope names", field="scopes")
    try:
        held = scopes.resolve(wanted)
    except scopes.ScopeError as e:
        raise invalid(str(e), field="scopes", allowed=sorted(scopes.ALL_SCOPES | {scopes.ADMIN})) from None
    if key in ctx.store.api_keys:
        raise invalid("that key is one of the server's own keys", field="key")
    label = name or f"key {len(scopes.list_keys(ctx.conn)) + 1}"
    with store.write(ctx.conn):
        scopes.add_key(ctx.conn, key, label, held)
    return ok({"name": label, "scopes": sorted(held)})


def list_api_keys(ctx: Ctx) -> Response:
    return ok({"keys": scopes.list_keys(ctx.conn)})


routes = [
    Route("/platform", admin(get_platform), methods=["GET"]),
    Route("/platform", admin(set_platform), methods=["POST"]),
    Route("/api_keys", admin(list_api_keys), methods=["GET"]),
    Route("/api_keys", admin(add_api_key), methods=["POST"]),
]
