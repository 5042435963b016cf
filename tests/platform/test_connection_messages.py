"""Connection errors name the URL and the cause; a base URL without `/beta` that answers 404
is told to add it, not asked whether the object was deleted in the dashboard."""

from __future__ import annotations

import httpx
import miru_platform_sdk
import pytest

from reconciler.errors import PlatformError
from reconciler.platform.client import Platform
from reconciler.platform.retry import RetryPolicy
from reconciler.platform.slots import Slots
from tests.harness import BASE, RW_KEY, VERSION, Harness, example_fleet

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, after=None: 0.0)


async def read_devices(base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> PlatformError:
    http = httpx.AsyncClient(timeout=2.0, transport=transport)
    sdk = miru_platform_sdk.AsyncMiru(
        api_key=RW_KEY, miru_version=VERSION, base_url=base_url, max_retries=0, http_client=http
    )
    p = Platform(sdk=sdk, target="test", semaphore=Slots(2), http=http)
    try:
        with pytest.raises(PlatformError) as e:
            await p.read(lambda: sdk.devices.list(limit=1), what="reading devices")
    finally:
        await http.aclose()
    return e.value


async def test_connection_refused_names_the_url_and_the_cause() -> None:
    err = await read_devices("http://127.0.0.1:9/beta")
    assert (
        str(err)
        == "reading devices: cannot reach the platform at http://127.0.0.1:9/beta: connection refused"
    )


async def test_a_base_url_without_beta_is_told_to_add_it(emu: Harness) -> None:
    await emu.seed(example_fleet(spare=False))
    err = await read_devices(BASE, httpx.ASGITransport(app=emu.app))
    assert err.status == 404
    assert err.hint == f"the platform API is under /beta: is the base URL {BASE}/beta?"
    assert "deleted" not in str(err.hint)
