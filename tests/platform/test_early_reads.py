"""What a plan reads before it needs it, against a served emulator (another process, over
loopback, through the SDK):

- a page is decoded after its request slot is free, so the next request is already sent;
- the live deployments' config instances that the read of the newest instances brought are not
  read again by id;
- the control records of the rollouts the manifests name are read beside the deployments, not
  after the plan: still one request, and a pause is still in the plan;
- a rollout the early read missed (its id changes once deployments are known) is read again;
- the control records are asked for before the plan is made;
- the resolution runs with a short switch interval, and the default comes back after."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import miru_platform_sdk
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.commands.early_reads import SWITCH, Early
from reconciler.model import control as C
from reconciler.model.enums import ControlKind
from reconciler.model.plan import Plan
from reconciler.plan.build import plan_from
from reconciler.platform import controls
from reconciler.platform import convert as CV
from reconciler.platform.client import Platform
from reconciler.platform.paging import PAGE, listing, loads, read_all
from reconciler.platform.slots import Slots
from tests.harness import RW_KEY, VERSION, Harness, example_fleet
from tests.plan.projects import served_emulator, write_project
from tests.plan.test_scale import seed_fleet


class Sent:
    """Requests the client has sent so far (an httpx event hook)."""

    def __init__(self) -> None:
        self.count = 0

    async def hook(self, _: httpx.Request) -> None:
        self.count += 1


def test_the_next_page_is_sent_before_this_one_is_decoded(emu: Harness) -> None:
    seed_fleet(emu.db, 500, 1)
    sent = Sent()
    at_decode: list[int] = []  # requests sent when each page's first item was converted
    converted = 0

    def item(raw: Any) -> Any:
        nonlocal converted
        if converted % PAGE == 0:
            at_decode.append(sent.count)
        converted += 1
        return CV.device(raw)

    async def read(url: str) -> int:
        async with httpx.AsyncClient(event_hooks={"request": [sent.hook]}) as http:
            sdk = miru_platform_sdk.AsyncMiru(
                api_key=RW_KEY, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0, http_client=http
            )
            # One request at a time: only a free slot lets the next one out.
            platform = Platform(sdk=sdk, target=url, semaphore=Slots(1), http=http)
            fetch = listing(sdk, "/devices", item)
            return len(await read_all(platform, fetch, what="reading devices", order_by=["id:asc"]))

    with served_emulator(Path(emu.db)) as url:
        assert asyncio.run(read(url)) == 500
    # Page 1 (it says the total) is decoded alone; each of pages 2-4 finds the next one sent.
    assert at_decode[:4] == [1, 3, 4, 5], at_decode


def test_loads_takes_what_orjson_refuses() -> None:
    big = 2**70
    assert loads(json.dumps({"data": [{"n": big}]}).encode()) == {"data": [{"n": big}]}
    with pytest.raises(ValueError):
        loads(b"{not json")


def _plan_json(root: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["plan", str(root), "--format", "json", *args])
    assert result.exit_code in (0, 2), result.stderr
    return dict(json.loads(result.stdout))


def test_instances_the_newest_page_brought_are_not_read_again(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(tmp_path / "p", emu.db)
    asyncio.run(emu.admin.delete("/_emulator/requests"))
    _plan_json(root)
    routes = asyncio.run(emu.requests())["by_route"]
    # The example's few live instances are all among the newest: one request, no read by id.
    assert routes["GET /beta/config_instances"] == 1


def _platform(url: str, http: httpx.AsyncClient) -> Platform:
    sdk = miru_platform_sdk.AsyncMiru(
        api_key=RW_KEY, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0, http_client=http
    )
    return Platform(sdk=sdk, target=url, semaphore=Slots(4), http=http)


def _pause(url: str, deployment_set: str, rollout: str) -> None:
    """A pause recorded on the platform the way `apply --pause` records it."""
    record = C.Control(ControlKind.PAUSE, deployment_set, rollout, seq=0, run="5c1e09aa", by="alice")

    async def write() -> None:
        async with httpx.AsyncClient() as http:
            await controls.write(_platform(url, http), record, origin="https://github.com/acme/fleet")

    asyncio.run(write())


def test_a_pause_is_read_beside_the_deployments_and_once(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(tmp_path / "p", emu.db)
    plan = _plan_json(root)
    name, rollout = next((n, r["id"]) for n, r in plan["rollouts"].items() if r["waves"])
    with served_emulator(Path(emu.db)) as url:
        _pause(url, name, rollout)
    asyncio.run(emu.admin.delete("/_emulator/requests"))
    again = _plan_json(write_project(tmp_path / "fresh", emu.db))
    assert again["rollouts"][name]["control"]["kind"] == "pause"
    assert asyncio.run(emu.requests())["by_route"]["GET /beta/git_commits"] == 1


def test_a_rollout_the_early_read_missed_is_read_again(emu: Harness, tmp_path: Path) -> None:
    """`with_controls`, given records read early for another rollout, reads the plan's own."""
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(tmp_path / "p", emu.db)
    plan = Plan.from_dict(_plan_json(root))
    name, rollout = next((n, r.id) for n, r in plan.rollouts.items() if r.devices)

    async def run(url: str) -> Plan:
        async with httpx.AsyncClient() as http:
            return await controls.with_controls(plan, _platform(url, http), {"ro-000000000000": []})

    with served_emulator(Path(emu.db)) as url:
        _pause(url, name, rollout)
        found = asyncio.run(run(url)).rollouts[name].control
    assert found is not None and (found.kind, found.rollout, found.by) == (
        ControlKind.PAUSE,
        rollout,
        "alice",
    )


def test_control_records_are_asked_for_before_the_plan_is_made(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(tmp_path / "p", emu.db)
    order: list[str] = []

    async def reading(*args: Any, **kwargs: Any) -> Any:
        order.append("control records")
        return await controls.read(*args, **kwargs)

    def planning_(*args: Any, **kwargs: Any) -> Any:
        order.append("plan")
        return plan_from(*args, **kwargs)

    monkeypatch.setattr("reconciler.commands.early_reads.controls_read", reading)
    monkeypatch.setattr("reconciler.commands.planning.plan_from", planning_)
    assert _plan_json(root)["rollouts"]
    assert order == ["control records", "plan"]


def test_the_resolution_runs_with_quick_switches_and_the_default_comes_back(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(tmp_path / "p", emu.db)
    default = sys.getswitchinterval()
    seen: list[float] = []
    resolve = Early._resolve

    def resolving(self: Early, state: Any) -> Any:
        seen.append(sys.getswitchinterval())
        return resolve(self, state)

    monkeypatch.setattr(Early, "_resolve", resolving)
    assert _plan_json(root)["changes"]
    assert seen == [SWITCH] and default > SWITCH
    assert sys.getswitchinterval() == default
