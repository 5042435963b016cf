"""The emulator's ASGI app: the platform API under /beta, the admin API under /_emulator/ (its db
is opened in `startup`).

Optional parts (built separately) are mounted when their module exists:
`requestlog.RequestLogMiddleware`, `faults.FaultMiddleware` (ASGI middleware classes taking
the app and `store=`), and each module's `routes()` (absolute paths: /_emulator/..., /v2/...).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount

from reconciler.emulator import (
    admin,
    routes_config_instances,
    routes_config_schemas,
    routes_config_types,
    routes_deployments,
    routes_devices,
    routes_groups,
    routes_misc,
    routes_releases,
)
from reconciler.emulator.errors import error_response
from reconciler.emulator.startup import open_store, optional

PLATFORM_ROUTES: list[BaseRoute] = [
    *routes_config_types.routes,
    *routes_config_schemas.routes,
    *routes_config_instances.routes,
    *routes_deployments.routes,
    *routes_devices.routes,
    *routes_groups.routes,
    *routes_misc.routes,
    *routes_releases.routes,
]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = (
        f"no route for {request.method} {request.url.path}"
        if exc.status_code in (404, 405)
        else str(exc.detail)
    )
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    # A bug in the emulator: still answer in the platform's envelope (the server logs the traceback).
    return error_response(500, "internal_error", f"emulator error: {type(exc).__name__}")


def create_app(
    db: str,
    *,
    seed: str | Path | None = None,
    api_keys: Mapping[str, str | Collection[str]] | None = None,
    clock: str = "real",
) -> Starlette:
    """Open (or create) the emulator over `db` (a file path or ":memory:").

    `api_keys` maps each key to a role (`rw`: every scope, `ro`: every read scope) or to a list
    of scopes; without it the built-in keys. `seed` is loaded only when the db is new; `clock` ("real" | "manual") is fixed when the
    db is created and stored in it, so apps and processes sharing a file share the clock."""
    return _build(db, seed, api_keys, clock)


def _build(
    db: str,
    seed_file: str | Path | None,
    api_keys: Mapping[str, str | Collection[str]] | None,
    clock_mode: str,
) -> Starlette:
    state = open_store(db, seed_file, api_keys, clock_mode)
    # Optional parts: their routes carry absolute paths, so they go before the mounts.
    middleware: list[Middleware] = []
    routes: list[BaseRoute] = []
    for name, mw in (("requestlog", "RequestLogMiddleware"), ("faults", "FaultMiddleware")):
        module = optional(name)
        if module is not None:
            middleware.append(Middleware(getattr(module, mw), store=state))
            routes.extend(module.routes())
            state.resets.append(module.reset)
    for name in ("events", "enrollment", "routes_probe"):
        module = optional(name)
        if module is not None:
            routes.extend(module.routes())
    routes += [Mount("/beta", routes=PLATFORM_ROUTES), Mount("/_emulator", routes=admin.routes)]

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.store = state
    return app
