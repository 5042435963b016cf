"""SDK errors become the project's own errors with a hint naming the fix: 401 (MIRU_API_KEY),
403 (the missing scope, by name), 400 (Miru-Version), network errors (network and base URL).
Reads are retried, writes are not. Against the emulator through the SDK (faults injected by
its admin API); the unreachable platform is a closed port."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import miru_platform_sdk
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.commands.planning import make_plan
from reconciler.commands.wiring import session
from reconciler.errors import PlatformError
from reconciler.manifests.loader import load_path
from reconciler.platform.client import Platform
from reconciler.platform.live import read_live_state
from reconciler.platform.retry import RetryPolicy
from reconciler.platform.slots import Slots
from tests.harness import RO_KEY, Harness, example_fleet
from tests.plan.projects import write_project

pytestmark = pytest.mark.anyio


def platform(sdk: miru_platform_sdk.AsyncMiru) -> Platform:
    return Platform(sdk=sdk, target="test", semaphore=Slots(4), http=httpx.AsyncClient())


async def read_error(sdk: miru_platform_sdk.AsyncMiru) -> PlatformError:
    with pytest.raises(PlatformError) as e:
        await read_live_state(platform(sdk), release_versions=["v1.4.1"])
    return e.value


async def test_401_hint_names_miru_api_key(emu: Harness) -> None:
    await emu.seed(example_fleet(spare=False))
    err = await read_error(emu.sdk(key="not-a-key-5555"))
    assert err.status == 401 and "HTTP 401" in str(err)
    assert err.hint == "check MIRU_API_KEY: it is missing, wrong or revoked"
    assert "not-a-key-5555" not in f"{err} {err.hint}"


async def test_403_hint_names_the_scope(emu: Harness) -> None:
    await emu.seed(example_fleet(spare=False))
    sdk = emu.sdk(key=RO_KEY)
    schema = (await sdk.config_schemas.list(limit=1)).data[0]
    schema_id = schema["id"] if isinstance(schema, dict) else schema.id
    with pytest.raises(PlatformError) as e:
        await platform(sdk).write(
            lambda: sdk.config_instances.create(
                config_schema_id=schema_id, content={"data": "x", "format": "text"}
            ),
            what="creating a config instance",
        )
    assert e.value.status == 403
    assert e.value.hint == "the API key lacks a scope this command needs (config_instances:write)"


async def test_400_hint_names_the_api_version(emu: Harness) -> None:
    await emu.seed(example_fleet(spare=False))
    err = await read_error(emu.sdk(version="2020-01-01.nowhere"))
    assert err.status == 400
    assert err.hint is not None and "Miru-Version 2026-08-17.everglades" in err.hint


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads retry with backoff; a closed port fails at once, so waiting proves nothing here.
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, after=None: 0.0)


@pytest.mark.usefixtures("no_backoff")
async def test_network_error_hint_names_network_and_base_url() -> None:
    http = httpx.AsyncClient(timeout=2.0)
    sdk = miru_platform_sdk.AsyncMiru(
        api_key="k",
        miru_version="2026-08-17.everglades",
        base_url="http://127.0.0.1:9/beta",
        max_retries=0,
        http_client=http,
    )
    p = platform(sdk)
    with pytest.raises(PlatformError) as e:
        await p.read(lambda: sdk.devices.list(limit=1), what="reading devices")
    await http.aclose()
    assert str(e.value).startswith("reading devices: cannot reach the platform at http://127.0.0.1:9/beta: ")
    assert e.value.hint == "check the network and the base URL"
    assert p.requests == 5  # reads are retried (READ_ATTEMPTS) before giving up


@pytest.mark.usefixtures("no_backoff")
def test_cli_prints_the_hint_without_a_traceback(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    root = write_project(tmp_path / "p", emu.db, enrollment=False)
    monkeypatch.setenv("MIRU_API_KEY", "sk-secret-key-0042")
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    result = CliRunner().invoke(main, ["plan", str(root), "--base-url", "http://127.0.0.1:9/beta"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "cannot reach the platform" in result.stderr
    assert "check the network and the base URL" in result.stderr
    assert "Traceback" not in result.stderr and "sk-secret-key-0042" not in result.stderr


@pytest.mark.usefixtures("no_backoff")
async def test_reads_are_retried_and_writes_are_not(emu: Harness, tmp_path: Path) -> None:
    """A 503 and a 429 on the device and deployment lists: the plan is read anyway (each
    failed page is read again) and is the plan made without faults. A write that fails is
    sent once (the SDK's blind retries are off): the caller decides how to recover."""
    await emu.seed(example_fleet(spare=False))
    project = load_path(write_project(tmp_path / "p", emu.db, enrollment=False))
    async with session(project) as wired:
        clean = await make_plan(project, wired, created_at="")
    await emu.admin.delete("/_emulator/requests")
    await emu.faults(
        [
            {"method": "GET", "path": "/beta/devices*", "status": 503, "times": 1},
            {"method": "GET", "path": "/beta/deployments*", "status": 429, "times": 2},
        ]
    )
    async with session(project) as wired:
        faulted = await make_plan(project, wired, created_at="")
    assert faulted == clean
    log = await emu.requests()
    # deployments: the faulted page twice, then the newest failed ones (failure memory)
    assert log["by_route"]["GET /beta/devices"] == 2 and log["by_route"]["GET /beta/deployments"] == 4
    assert log["by_status"]["503"] == 1 and log["by_status"]["429"] == 2

    await emu.faults([{"method": "POST", "path": "/beta/config_instances*", "status": 503, "times": 1}])
    sdk = emu.sdk()
    schema_id = clean.instances[0].config_schema_id
    w = platform(sdk)
    with pytest.raises(PlatformError) as e:
        await w.write(
            lambda: sdk.config_instances.create(
                config_schema_id=schema_id, content={"data": "{}", "format": "json"}
            ),
            what="creating",
        )
    assert e.value.status == 503 and w.requests == 1
