"""Serving the emulator over HTTP (`reconcile emulator serve`): the app, its keys and an access
log, on a socket `listener` binds and runs with uvicorn."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler import escape
from reconciler.emulator.endpoint import StatusCapture
from reconciler.emulator.listener import bind, is_loopback, run, url_of
from reconciler.emulator.store import BUILTIN_KEYS

Emit = Callable[[str], None]


class AccessLog:
    """One line per request: method, path, status, milliseconds. Never headers or the
    query string, so never a key."""

    def __init__(self, app: ASGIApp, emit: Emit):
        self.app = app
        self.emit = emit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        capture = StatusCapture(send)
        try:
            await self.app(scope, receive, capture)
        finally:
            ms = (time.perf_counter() - started) * 1000
            # The path is the client's, percent-decoded: an escape sequence in it is shown, not run.
            path = escape.terminal(scope["path"], escape.LINE_LIMIT)
            self.emit(f"{escape.terminal(scope['method'])} {path} {capture.status} {ms:.1f}ms")


def api_keys(extra_rw_key: str | None) -> dict[str, str]:
    keys = dict(BUILTIN_KEYS)
    if extra_rw_key:
        keys[extra_rw_key] = "rw"
    return keys


def serve(
    *,
    db: str,
    seed: Path | None,
    host: str,
    port: int,
    extra_rw_key: str | None,
    emit: Emit,
    keys: Mapping[str, str] | None = None,
    access_log: bool = True,
) -> None:
    from reconciler.emulator.app import create_app

    if db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    app = create_app(db, seed=seed, api_keys=keys or api_keys(extra_rw_key), clock="real")
    sock = bind(host, port)
    if not is_loopback(host):
        emit(
            f"warning: listening on {host}, not loopback: anyone who can reach it can use the "
            "built-in keys (emulator-local-rw / emulator-local-ro)"
        )
    emit(f"emulator listening on {url_of(sock)} (API at {url_of(sock)}/beta, db {db})")
    run(AccessLog(app, emit) if access_log else app, sock)
