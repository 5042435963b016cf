"""The network transport (`client.Lanes`): keep-alive connections, one request each at a time,
replaced when the server closes them; and no cookie jar between the answers and the requests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
import pytest

from reconciler.platform.client import Lanes, connect


@dataclass
class Server:
    """A plain HTTP/1.1 server on loopback that counts connections and requests."""

    close: bool  # answer every request with `Connection: close`
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.requests.append(head)
                extra = b"Connection: close\r\n" if self.close else b""
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                    b"Set-Cookie: session=abc\r\n" + extra + b"\r\n{}"
                )
                await writer.drain()
                if self.close:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


async def _get_five(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        async with connect(f"http://127.0.0.1:{port}/beta", api_key="k") as platform:
            for _ in range(5):
                response = await platform.http.get(f"http://127.0.0.1:{port}/beta/devices")
                assert response.status_code == 200 and response.json() == {}
    finally:
        listening.close()
        await listening.wait_closed()


@pytest.mark.anyio
async def test_one_request_after_the_other_reuses_one_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server(close=False)
    await _get_five(server, monkeypatch)
    assert (server.connections, len(server.requests)) == (1, 5)


@pytest.mark.anyio
async def test_a_connection_the_server_closes_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server(close=True)
    await _get_five(server, monkeypatch)
    assert (server.connections, len(server.requests)) == (5, 5)


@pytest.mark.anyio
async def test_a_cookie_the_platform_sets_is_never_sent_back(monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server(close=False)
    await _get_five(server, monkeypatch)
    assert not [r for r in server.requests if b"\r\ncookie:" in r.lower()]


@pytest.mark.anyio
async def test_tls_is_set_up_for_https_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain http never loads the CA bundle (20-25 ms); an https origin still speaks TLS (the
    server here gets a TLS handshake, which it cannot answer, so the read fails)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    first: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first.append(await reader.read(3))
        writer.close()

    server = Server(close=False)
    plain = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    tls = await asyncio.start_server(handle, "127.0.0.1", 0)
    port, tls_port = (s.sockets[0].getsockname()[1] for s in (plain, tls))
    try:
        async with connect(f"http://127.0.0.1:{port}/beta", api_key="k") as platform:
            lanes = platform.http._transport
            assert isinstance(lanes, Lanes)
            assert (await platform.http.get(f"http://127.0.0.1:{port}/beta/devices")).status_code == 200
            assert lanes._tls is None
            with pytest.raises(httpx.HTTPError):
                await platform.http.get(f"https://127.0.0.1:{tls_port}/beta/devices")
            assert lanes._tls is not None
    finally:
        for s in (plain, tls):
            s.close()
            await s.wait_closed()
    assert first and first[0][:2] == b"\x16\x03"  # a TLS record: a handshake
