"""Serving the emulator over HTTP with uvicorn (`reconcile emulator serve`).

The socket is bound before uvicorn starts, so `--port 0` works (the chosen port is
printed) and "listening on ..." is true when printed: connections made after it wait
in the listen backlog until uvicorn accepts them.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.emulator.endpoint import StatusCapture
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
            self.emit(f"{scope['method']} {scope['path']} {capture.status} {ms:.1f}ms")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_keys(extra_rw_key: str | None) -> dict[str, str]:
    keys = dict(BUILTIN_KEYS)
    if extra_rw_key:
        keys[extra_rw_key] = "rw"
    return keys


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every keep-alive response waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(app: ASGIApp, sock: socket.socket) -> uvicorn.Server:
    config = uvicorn.Config(
        app, access_log=False, log_level="warning", lifespan="off", timeout_graceful_shutdown=5
    )
    return uvicorn.Server(config)


def run(app: ASGIApp, sock: socket.socket) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM: uvicorn's handlers shut down cleanly)."""
    make_server(app, sock).run(sockets=[sock])


@contextmanager
def in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` from a background thread for the duration of the block; yields the base
    URL. Ready on entry: waits (bounded) for uvicorn's `started` flag, no sleeps."""
    sock = bind(host, port)
    server = make_server(app, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    ready = threading.Event()

    def wait_started() -> None:
        while not server.started and thread.is_alive():
            ready.wait(0.01)

    wait_started()
    if not server.started:
        sock.close()
        raise RuntimeError("the emulator server did not start")
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve(
    *,
    db: str,
    seed: Path | None,
    host: str,
    port: int,
    extra_rw_key: str | None,
    emit: Emit,
    keys: Mapping[str, str] | None = None,
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
    run(AccessLog(app, emit), sock)
