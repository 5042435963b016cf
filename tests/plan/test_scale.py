"""`reconcile plan` on a 20,000-device fleet in the emulator (CLI in process, embedded target,
through the SDK): the markdown stays within one GitHub comment (65,536 characters) with
thousands of distinct changes and says what it left out and where the full JSON is; reading
live state costs one page per 100 devices, per 100 live deployments and per 100 distinct
config instances, plus a few fixed reads; pages are read concurrently within the limit."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import httpx
import miru_platform_sdk
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.emulator import clock, store
from reconciler.emulator import seed as emulator_seed
from reconciler.model.live import LiveState
from reconciler.model.project import EnrollmentService
from reconciler.plan.render_markdown import LIMIT
from reconciler.platform.client import Platform
from reconciler.platform.enrollment import enrollment_diagnostics
from reconciler.platform.live import PAGE, read_live_state
from reconciler.platform.slots import Slots
from tests.harness import MOTION_CONFIG, RW_KEY, VERSION, Harness, example_fleet
from tests.plan.projects import CLIENT_ID, ENROLLMENT_TOKEN, dset, served_emulator, write_project

N = 20_000
DISTINCT = 2_000  # distinct live motion-control contents: groups of ten devices each


class InFlight:
    """Counts requests a client has sent and not yet had answered (httpx event hooks)."""

    def __init__(self) -> None:
        self.now = self.peak = 0

    async def _sent(self, _: httpx.Request) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    async def _answered(self, _: httpx.Response) -> None:
        self.now -= 1

    def hooks(self) -> dict[str, list[Any]]:
        return {"request": [self._sent], "response": [self._answered]}


def seed_fleet(db: str, n: int = N, distinct: int = DISTINCT) -> None:
    """`n` devices whose live max_speed was edited to `distinct` different values. Loaded
    straight into the db (the admin API parses its body as YAML: minutes at this size)."""
    seed = example_fleet(n, spare=False)
    for i, device in enumerate(seed["devices"]):
        motion = {**MOTION_CONFIG, "max_speed": round((i % distinct) / 1000, 3)}
        device["configs"] = {**device["configs"], "motion-control": motion}
    conn = store.connect(db)
    try:
        emulator_seed.load(conn, seed, clock.now(conn))
    finally:
        conn.close()


@pytest.mark.slow
def test_20000_devices_markdown_bound_and_request_budget(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_fleet(emu.db)
    root = write_project(
        tmp_path / "p", emu.db, {"all.yaml": dset("all", selector="groups: [fleet, lab]")}, enrollment=False
    )
    asyncio.run(emu.admin.delete("/_emulator/requests"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    out_file = tmp_path / "plan.json"
    result = CliRunner().invoke(
        main, ["plan", str(root), "--format", "markdown", "--out", str(out_file)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    md = result.stdout

    # The plan itself: every device but the ten already at 1.2 gets its own change.
    plan = json.loads(out_file.read_text())
    assert len(plan["changes"]) == N
    assert plan["summary"]["deploy"] == N - N // DISTINCT and plan["summary"]["noop"] == N // DISTINCT
    # max_speed 1.2 is live on those ten: its instance is reused, nothing is created
    assert plan["summary"]["instances_to_create"] == 0
    assert [i["existing_id"] is not None for i in plan["instances"]] == [True] * 3

    # The markdown: within the bound, the summary in full, the cut said and where the JSON is.
    assert len(md) <= LIMIT
    assert f"**Plan: {N - N // DISTINCT} to deploy, 0 to upgrade" in md
    assert md.count("<details>") == md.count("</details>") > 100
    assert "> **Cut to fit one comment:** " in md and " change groups (" in md
    assert f"The full plan is in `{out_file}`." in md

    # The request budget: pages of 100, nothing per device.
    log = asyncio.run(emu.requests())
    routes = log["by_route"]
    instances = DISTINCT + 2  # the distinct live instances: motion-control's, localization, notes
    assert routes["GET /beta/devices"] == math.ceil(N / PAGE)
    # + one page of the newest failed deployments (failure memory: held-back content)
    assert routes["GET /beta/deployments"] == math.ceil(N / PAGE) + 1
    # The newest page, then by id those of the live ones it did not bring (it brought 100 of them)
    assert routes["GET /beta/config_instances"] == 1 + math.ceil((instances - PAGE) / PAGE)
    assert {r.split()[0] for r in routes} == {"GET"}
    fixed = log["total"] - sum(
        routes[r] for r in ("GET /beta/devices", "GET /beta/deployments", "GET /beta/config_instances")
    )
    assert fixed <= 6  # groups, config types, releases, schemas


def test_cut_markdown_says_where_the_full_plan_is(
    emu: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600 distinct changes do not fit one comment: without --out the note says how to get the
    JSON; with --full-plan-note (what the GitHub Action passes) it names that place."""
    seed_fleet(emu.db, 600, 600)
    root = write_project(
        tmp_path / "p", emu.db, {"all.yaml": dset("all", selector="groups: [fleet, lab]")}, enrollment=False
    )
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    result = CliRunner().invoke(main, ["plan", str(root), "--format", "markdown"])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout) <= LIMIT
    last = result.stdout.rstrip().splitlines()[-1]
    assert last.startswith("> **Cut to fit one comment:** ") and " change groups (" in last
    assert last.endswith(
        f"The full plan is in the JSON of `reconcile plan {root} --format json` (save it with `--out FILE`)."
    )
    note = "`plan.json` in the workflow artifact `reconcile-plan-examples`"
    result = CliRunner().invoke(main, ["plan", str(root), "--format", "markdown", "--full-plan-note", note])
    assert result.stdout.rstrip().endswith(f"The full plan is in {note}.")
    # --max-chars leaves room for what a caller puts around the plan (a marker, a footer)
    result = CliRunner().invoke(main, ["plan", str(root), "--format", "markdown", "--max-chars", "20000"])
    assert 19_000 < len(result.stdout) <= 20_000 and "> **Cut to fit one comment:** " in result.stdout
    result = CliRunner().invoke(main, ["plan", str(root), "--format", "markdown", "--max-chars", "10"])
    assert result.exit_code == 1 and "--max-chars" in result.stderr


def test_pages_are_read_concurrently_within_the_limit(emu: Harness) -> None:
    """1,200 devices on a served emulator (loopback): after the first page of each list (which
    says the total), the other pages are in flight together, never more than the limit."""
    seed_fleet(emu.db, 1200, 1)
    counter = InFlight()

    # The first reads (groups, types, releases, the first page of devices and of deployments)
    # are five at once; more than that in flight can only be pages read together.
    limit = 8

    async def read(url: str) -> tuple[int, int, int]:
        async with httpx.AsyncClient(event_hooks=counter.hooks()) as http:
            sdk = miru_platform_sdk.AsyncMiru(
                api_key=RW_KEY, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0, http_client=http
            )
            platform = Platform(sdk=sdk, target=url, semaphore=Slots(limit), http=http)
            live = await read_live_state(platform, release_versions=["v1.4.1"])
            return len(live.devices), len(live.deployments), live.requests

    with served_emulator(Path(emu.db)) as url:
        devices, deployments, requests = asyncio.run(read(url))
    assert (devices, deployments) == (1200, 1200)
    # devices, deployments, the newest instances (every live one among them), fixed
    assert requests == 12 + 12 + 1 + 4
    assert counter.peak == limit


def test_enrollment_diagnostics_for_many_devices_stay_within_the_limit(
    emu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 never-enrolled devices: each gets its diagnostics, never more than the Platform's
    concurrency limit of requests in flight (a fleet of spares must not open a connection each)."""
    seed = example_fleet(3, spare=False)
    spares = [f"spare-{i:02d}" for i in range(40)]
    seed["devices"] += [{"name": n, "group": "warehouse-east", "status": "inactive"} for n in spares]
    seed["enrollments"] = [
        {
            "device": n,
            "status": "error",
            "enrollment_date": "2026-01-29T09:00:00.000Z",
            "error_logs": [f"{n}: Installation failed"],
        }
        for n in spares
    ]
    conn = store.connect(emu.db)
    emulator_seed.load(conn, seed, clock.now(conn))
    conn.close()
    monkeypatch.setenv("ENROLLMENT_TOKEN", ENROLLMENT_TOKEN)
    counter = InFlight()

    async def diagnose(url: str) -> dict[str, tuple[str, ...]]:
        async with httpx.AsyncClient(event_hooks=counter.hooks()) as http:
            sdk = miru_platform_sdk.AsyncMiru(
                api_key=RW_KEY, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0, http_client=http
            )
            platform = Platform(sdk=sdk, target=url, semaphore=Slots(4), http=http)
            live = await read_live_state(platform)
            inactive = [d for d in live.devices.values() if d.status == "inactive"]
            service = EnrollmentService(base_url="/v2", client_id=CLIENT_ID)
            return {
                live_name(live, k): v
                for k, v in (
                    await enrollment_diagnostics(service, platform, inactive, on_platform_host=True)
                ).items()
            }

    def live_name(live: LiveState, device_id: str) -> str:
        return next(d.name for d in live.devices.values() if d.id == device_id)

    with served_emulator(Path(emu.db)) as url:
        got = asyncio.run(diagnose(url))
    assert sorted(got) == spares
    assert all(f"  {n}: Installation failed" in got[n] for n in spares)
    assert 1 < counter.peak <= 4
