"""The emulator's socket and uvicorn server, in this process or in a thread (tests).

The socket is bound before uvicorn starts, so `--port 0` works (the chosen port is
printed) and "listening on ..." is true when printed: connections made after it wait
in the listen backlog until uvicorn accepts them.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
