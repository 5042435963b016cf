"""httpcore's network backend on asyncio transports (`platform/sockets.py`), through the
product's client (`connect`: the SDK's httpx client over `Lanes`) against real servers on
loopback: answers and uploads larger than the buffers, timeouts, refused and cut-short
connections, a keep-alive connection the server dropped, and TLS."""

from __future__ import annotations

import asyncio
import select
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from reconciler.platform import sockets
from reconciler.platform.client import Lanes, connect

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)


@asynccontextmanager
async def serving(handle: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def answer(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


@pytest.mark.anyio
async def test_an_answer_larger_than_the_read_ahead_arrives_whole() -> None:
    body = bytes(range(256)) * (3 * sockets.HIGH_WATER // 256)  # reading pauses and resumes

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer(body))
        await writer.drain()
        writer.close()

    async with serving(handle) as port, connect(f"http://127.0.0.1:{port}/beta", api_key="k") as platform:
        response = await platform.http.get(f"http://127.0.0.1:{port}/beta/devices")
    assert response.content == body
    assert isinstance(response.extensions["network_stream"], sockets.Stream)  # not anyio's


@pytest.mark.anyio
async def test_an_upload_larger_than_the_socket_buffers_is_sent_whole() -> None:
    body = b"x" * (8 * 2**20)  # writing pauses until the server has read some
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")
        )
        received.append(await reader.readexactly(length))
        writer.write(answer(b"{}"))
        await writer.drain()
        writer.close()

    async with serving(handle) as port, connect(f"http://127.0.0.1:{port}/beta", api_key="k") as platform:
        response = await platform.http.post(f"http://127.0.0.1:{port}/beta/x", content=body)
    assert response.status_code == 200
    assert received == [body]


@pytest.mark.anyio
async def test_a_server_that_never_answers_times_out() -> None:
    release = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    async with serving(handle) as port, connect(f"http://127.0.0.1:{port}/beta", api_key="k") as platform:
        with pytest.raises(httpx.ReadTimeout):
            await platform.http.get(f"http://127.0.0.1:{port}/beta/devices", timeout=0.05)
        release.set()


@pytest.mark.anyio
async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed on leaving: nothing listens there
    async with connect(f"http://127.0.0.1:{port}/beta", api_key="k") as platform:
        with pytest.raises(httpx.ConnectError):
            await platform.http.get(f"http://127.0.0.1:{port}/beta/devices")


@pytest.mark.anyio
async def test_an_answer_cut_short_is_an_error_not_a_short_body() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"data": [')
        await writer.drain()
        writer.close()

    async with serving(handle) as port, connect(f"http://127.0.0.1:{port}/beta", api_key="k") as platform:
        with pytest.raises(httpx.RemoteProtocolError):
            await platform.http.get(f"http://127.0.0.1:{port}/beta/devices")


@pytest.mark.anyio
async def test_a_kept_alive_connection_the_server_dropped_is_not_reused() -> None:
    """The server answers without `Connection: close` and then closes: the next request goes
    out on a new connection and succeeds, rather than failing on the dead one."""
    connections: list[int] = []
    closed = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer(b"{}"))
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.set()

    async with serving(handle) as port, connect(f"http://127.0.0.1:{port}/beta", api_key="k") as platform:
        first = await platform.http.get(f"http://127.0.0.1:{port}/beta/devices")
        await closed.wait()
        second = await platform.http.get(f"http://127.0.0.1:{port}/beta/devices")
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(connections) == 2


class _OnSocket:
    """A transport as `_readable` sees it: only its socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> object:
        return self.sock if name == "socket" else None


@pytest.mark.parametrize("poll", [True, False], ids=["poll", "select (no poll, as on Windows)"])
def test_an_idle_connection_reads_as_readable_once_its_peer_closed(
    poll: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not poll:
        monkeypatch.delattr(select, "poll")
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert not sockets._readable(_OnSocket(ours))  # type: ignore[arg-type]
        theirs.close()
        assert sockets._readable(_OnSocket(ours))  # type: ignore[arg-type]


def _certificate(where: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("TLS not tested: no openssl command to make a certificate for 127.0.0.1")
    cert, key = where / "cert.pem", where / "key.pem"
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    names = ("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    command = [openssl, "req", "-x509", *ec, "-keyout", str(key), "-out", str(cert), "-days", "1", *names]
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


@pytest.mark.anyio
async def test_https_is_spoken_over_tls(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    requests = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                requests += 1
                writer.write(answer(b'{"tls": true}'))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async with (
        serving(handle, tls=server_side) as port,
        connect(f"https://127.0.0.1:{port}/beta", api_key="k") as platform,
    ):
        lanes = platform.http._transport
        assert isinstance(lanes, Lanes)
        lanes._tls = trusting  # the test's certificate, not the system's CAs
        for _ in range(3):
            response = await platform.http.get(f"https://127.0.0.1:{port}/beta/devices")
            assert response.json() == {"tls": True}
        stream = response.extensions["network_stream"]
        assert isinstance(stream, sockets.Stream)
        assert stream.get_extra_info("ssl_object") is not None
    assert requests == 3


@pytest.mark.anyio
async def test_a_certificate_nobody_trusts_is_refused(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with (
        serving(handle, tls=server_side) as port,
        connect(f"https://127.0.0.1:{port}/beta", api_key="k") as platform,
    ):
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await platform.http.get(f"https://127.0.0.1:{port}/beta/devices")
