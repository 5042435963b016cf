"""`connect` sends through the transport its caller gives, and `commands/wiring.py` alone
decides, per target, the URL, key, transport, clock and enrollment token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reconciler.apply.clock import WallClock
from reconciler.commands.wiring import EMULATOR_ENROLLMENT_TOKEN, EmulatorClock, endpoint, session
from reconciler.errors import ReconcileError
from reconciler.manifests.loader import load_path
from reconciler.platform.client import connect
from tests.harness import make_harness

pytestmark = pytest.mark.anyio


async def test_connect_sends_through_the_callers_transport() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "has_more": False, "offset": 0, "limit": 1})

    async with connect(
        "https://api.example.test/beta", api_key="k-123", transport=httpx.MockTransport(answer)
    ) as platform:
        await platform.read(lambda: platform.sdk.devices.list(limit=1), what="reading devices")
        assert platform.target == "https://api.example.test/beta" and platform.requests == 1
    (request,) = seen
    assert request.url.host == "api.example.test" and request.url.path == "/beta/devices"
    assert request.headers["x-api-key"] == "k-123" and request.headers["miru-version"].endswith("everglades")


LAB_SET = "apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata: {name: lab}\nspec: {selector: {groups: [lab]}, release: v1.4.1}\n"


def _project(root: Path, target: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconcile.yaml").write_text(f"target:\n{target}")
    (root / "lab.yaml").write_text(LAB_SET)
    return root


def test_a_remote_target_needs_the_key_and_uses_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load_path(_project(tmp_path / "p", "  base_url: https://api.example.test/beta\n"))
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    monkeypatch.delenv("MIRU_API_KEY", raising=False)
    with pytest.raises(ReconcileError, match="MIRU_API_KEY is not set"):
        endpoint(project)
    monkeypatch.setenv("MIRU_API_KEY", "k-123")
    ep = endpoint(project)
    assert (ep.base_url, ep.api_key, ep.transport) == ("https://api.example.test/beta", "k-123", None)
    assert not ep.manual_clock and ep.enrollment_token is None


@pytest.mark.parametrize("clock, manual", [("manual", True), ("real", False)])
async def test_the_embedded_emulator_gets_its_clock_and_token(
    clock: str, manual: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    make_harness(str(tmp_path / "emu.db"), clock=clock).close()  # the clock is fixed at creation
    project = load_path(_project(tmp_path / "p", f"  emulator:\n    db: {tmp_path / 'emu.db'}\n"))
    async with session(project) as wired:
        assert isinstance(wired.clock, EmulatorClock if manual else WallClock)
        assert wired.enrollment_token == EMULATOR_ENROLLMENT_TOKEN
        assert wired.platform.target.startswith("emulator:")
        page = await wired.platform.read(lambda: wired.platform.sdk.devices.list(limit=1), what="reading")
        assert page.data == []
    # --base-url points elsewhere: the emulator's token and clock stay with the emulator
    monkeypatch.setenv("MIRU_API_KEY", "k-123")
    ep = endpoint(project, "https://api.example.test/beta")
    assert ep.enrollment_token is None and not ep.manual_clock and ep.transport is None
