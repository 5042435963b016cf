"""A server that costs (almost) nothing, for measuring the client alone: it forwards each read
it has not seen to the emulator once, keeps the answer, and from then on answers that read
from memory after `latency` seconds. So a plan against it pays the injected latency but not
the emulator's 1.5-2 ms of CPU a page, which on these 2 cores competes with the client and
queues a round's requests one behind the other. Only reads (GET) are kept; anything else is
forwarded every time. Not the platform: a benchmark's instrument (`bench_plan_scale.py
--replay`), never used by a test of the product's behaviour.

    python benchmarks/replay_server.py UPSTREAM_URL LATENCY   # prints its URL, then serves
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from typing import Any

import httpx
import uvicorn

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
HOP = {b"host", b"content-length", b"connection", b"transfer-encoding"}


def make_app(upstream: str, latency: float) -> Any:
    kept: dict[tuple[str, str, bytes], Answer] = {}
    client = httpx.AsyncClient(base_url=upstream, timeout=120)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        key = (scope["method"], scope["path"], scope["query_string"])
        answer = kept.get(key)
        if answer is None:
            answer = await forward(scope, receive)
            if scope["method"] == "GET" and answer[0] < 400:
                kept[key] = answer
        elif latency:
            await asyncio.sleep(latency)
        status, headers, body = answer
        length = (b"content-length", str(len(body)).encode())
        await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
        await send({"type": "http.response.body", "body": body})

    async def forward(scope: dict[str, Any], receive: Any) -> Answer:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope["query_string"].decode()
        response = await client.request(
            scope["method"],
            scope["path"] + (f"?{query}" if query else ""),
            headers=[(k, v) for k, v in scope["headers"] if k.lower() not in HOP],
            content=body,
        )
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP]
        return response.status_code, headers, response.content

    return app


def start(upstream: str, latency: float) -> tuple[subprocess.Popen[str], str]:
    """The server in its own process (its CPU is its own, as the emulator's is): (process, URL)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, upstream, str(latency)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"the replay server did not start: {url!r}")
    return proc, url


def main() -> None:
    upstream, latency = sys.argv[1], float(sys.argv[2])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        make_app(upstream, latency), log_level="warning", access_log=False, lifespan="off"
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
