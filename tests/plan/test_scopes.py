"""Every command with exactly the scopes `docs/ci.md` lists for it passes against a served
emulator, and with any one of them missing fails with an error naming that scope (Miru's
authorization page: keys hold `resource:action` scopes, and `write` does not include `read`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.harness import RW_KEY, VERSION, example_fleet, make_harness
from tests.plan.projects import dset, served_emulator, write_project

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
COMMANDS = {
    "validate --online": ["validate", "--online"],
    "plan": ["plan"],
    "drift": ["drift"],
    "status": ["status"],
    "apply": ["apply", "--auto-approve"],
    "apply --pause": ["apply", "--auto-approve", "--pause", "lab-canary"],
    "apply --abort --keep": ["apply", "--auto-approve", "--abort", "lab-canary", "--keep"],
}
# Pausing or aborting needs a rollout in progress: a rollout with one device done, made with
# the full key first.
IN_PROGRESS = ("apply --pause", "apply --abort --keep")


def documented() -> dict[str, list[str]]:
    """command -> scopes, from the table in docs/ci.md ("those of `plan`, plus ..." expanded)."""
    out: dict[str, list[str]] = {}
    for line in DOCS.read_text().split("### API key scopes", 1)[1].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        scopes = re.findall(r"`([a-z_]+:[a-z]+)`", cells[1])
        base = re.match(r"those of `([a-z]+)`", cells[1])
        for name in re.findall(r"`([^`]+)`", cells[0]):
            out[name] = (out[base.group(1)] if base else []) + scopes
    return out


SCOPES = documented()
CASES = [(c, None) for c in COMMANDS] + [(c, s) for c in COMMANDS for s in SCOPES[c]]


def _key(command: str, dropped: str | None) -> str:
    return "k-" + re.sub(r"[^a-z]+", "-", f"{command} {dropped or 'all'}")


def _seed() -> dict[str, object]:
    # A real clock (see `served`): agents that answer at once and no offline device to wait on,
    # so no command waits on the wall clock.
    seed = example_fleet(delay=0, offline=[])
    # A release with v1.4.1's schemas, staged on lab-arm-01 so the upgrade replaces (archives) it.
    releases = seed["releases"]
    assert isinstance(releases, list)
    releases.append({"version": "v1.4.0", "schemas": list(releases[0]["schemas"])})
    seed["api_keys"] = [
        {"key": _key(c, s), "name": _key(c, s), "scopes": [x for x in SCOPES[c] if x != s]} for c, s in CASES
    ]
    return seed


async def _stage_on_lab_arm_01(url: str) -> None:
    headers = {"X-API-Key": RW_KEY, "Miru-Version": VERSION}
    async with httpx.AsyncClient(base_url=f"{url}/beta", headers=headers) as http:
        dev = (
            await http.get("/devices", params={"name": "lab-arm-01", "expand": "current_deployment"})
        ).json()
        cur = dev["data"][0]["current_deployment"]
        cur = (await http.get(f"/deployments/{cur['id']}", params={"expand": "config_instances"})).json()
        v140 = (await http.get("/releases", params={"version": "v1.4.0"})).json()["data"][0]["id"]
        r = await http.post(
            "/deployments",
            json={
                "device_id": cur["device_id"],
                "release_id": v140,
                "description": "staged by hand",
                "config_instance_ids": [c["id"] for c in cur["config_instances"]],
                "target_status": "staged",
            },
        )
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("scopes")
    db = tmp / "served.db"
    make_harness(str(db), clock="real").close()  # a real clock: a scoped key cannot tick one
    with served_emulator(db) as url:
        root = write_project(tmp / "p", str(tmp / "unused.db"), enrollment=False)
        (root / "deploymentsets" / "lab-canary.yaml").write_text(
            dset("lab-canary", selector="groups: [lab]", release="v1.4.2", motion="values: {max_speed: 1.0}")
        )
        # The example's 2 s of health per wave would be 2 s of wall time on this real clock.
        warehouse = root / "deploymentsets" / "warehouse-amrs.yaml"
        warehouse.write_text(warehouse.read_text().replace("min_healthy_time: 2s", "min_healthy_time: 0s"))
        with (root / "reconcile.yaml").open("a") as f:
            f.write(
                "defaults:\n  rollout: {strategy: rolling, max_parallel: 20, health_check: {deadline: 30s, min_healthy_time: 0s}}\n"
            )
        yield url, root


def _reset(url: str) -> None:
    async def go() -> None:
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": RW_KEY}) as admin:
            assert (await admin.post("/_emulator/reset")).status_code == 200
            r = await admin.post("/_emulator/seed", json=_seed())
            assert r.status_code == 200, r.text
        await _stage_on_lab_arm_01(url)

    asyncio.run(go())


def test_the_docs_list_scopes_for_every_command() -> None:
    assert set(SCOPES) >= set(COMMANDS), SCOPES
    assert "deployments:read" not in SCOPES["validate --online"]
    assert set(SCOPES["apply"]) > set(SCOPES["plan"])
    assert set(SCOPES["apply --pause"]) == set(SCOPES["plan"]) | {"git_commits:write"}


@pytest.mark.parametrize("command, dropped", CASES, ids=[f"{c}-without-{s or 'nothing'}" for c, s in CASES])
def test_each_command_runs_with_exactly_its_scopes(
    served: tuple[str, Path], command: str, dropped: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, root = served
    _reset(url)  # every case starts from the same fleet (apply changes it)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("MIRU_BASE_URL", f"{url}/beta")
    if command in IN_PROGRESS:
        monkeypatch.setenv("MIRU_API_KEY", RW_KEY)
        started = CliRunner().invoke(
            main, ["apply", "--auto-approve", "--set", "lab-canary", "--device", "lab-arm-02", str(root)]
        )
        assert started.exit_code == 0, started.output
    monkeypatch.setenv("MIRU_API_KEY", _key(command, dropped))
    result = CliRunner().invoke(main, [*COMMANDS[command], str(root)])
    out = result.stdout + result.stderr
    if dropped is None:
        assert result.exit_code in (0, 2), out  # 2: drift found the differences the plan has
        assert "lacks" not in out and "could not" not in out, out
        return
    assert result.exit_code == 1, out
    assert "lacks" in out and dropped in out, out  # the missing scope, by name
    assert "Traceback" not in out and "rolled back" not in out
