"""Fixtures for the emulator's contract tests: raw HTTP clients on the harness app, and SDK
clients whose every response is checked against the everglades spec, either in process
(ASGITransport) or over loopback (uvicorn on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import miru_platform_sdk as sdk
import pytest

from reconciler.emulator.listener import in_thread
from tests.emulator_contract.spec import Spec, ValidatingTransport, load_spec
from tests.harness import Harness

RW_KEY = "emulator-local-rw"
RO_KEY = "emulator-local-ro"
VERSION = "2026-08-17.everglades"
HEADERS = {"X-API-Key": RW_KEY, "Miru-Version": VERSION}


@pytest.fixture
async def http(emu: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP on the harness app, with the rw key and the everglades version."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app), base_url="http://emulator.local", headers=HEADERS
    ) as client:
        yield client


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(params=["asgi", "uvicorn"])
def base_transport(
    request: pytest.FixtureRequest, emu: Harness
) -> Iterator[tuple[str, httpx.AsyncBaseTransport]]:
    """The harness app reached in process, or through a real uvicorn on a free loopback port."""
    if request.param == "asgi":
        yield "http://emulator.local", httpx.ASGITransport(app=emu.app)
        return
    with in_thread(emu.app) as url:
        yield url, httpx.AsyncHTTPTransport()


@pytest.fixture
async def checked(
    base_transport: tuple[str, httpx.AsyncBaseTransport], spec: Spec
) -> AsyncIterator[tuple[sdk.AsyncMiru, ValidatingTransport]]:
    """An everglades SDK client (rw key, no retries) whose responses are all spec-checked."""
    url, inner = base_transport
    transport = ValidatingTransport(inner, spec)
    async with httpx.AsyncClient(transport=transport, base_url=url) as http_client:
        client = sdk.AsyncMiru(
            api_key=RW_KEY,
            miru_version=VERSION,
            base_url=f"{url}/beta",
            max_retries=0,
            http_client=http_client,
        )
        yield client, transport


@pytest.fixture(autouse=True)
def _default_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's own tests check its default reading, or set the switches they test;
    RECONCILE_EMULATOR_PLATFORM is for running the product's scenarios under another one."""
    monkeypatch.delenv("RECONCILE_EMULATOR_PLATFORM", raising=False)
