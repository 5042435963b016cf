"""`reconcile watch` for several rounds on the emulator's manual clock (the wait between rounds
is injected: no test sleeps): a dashboard edit is healed with --apply and only reported with
--drift-only, a change pushed to the remote is fetched and applied, webhooks on loopback get
the events, and SIGTERM mid-round leaves no device half-applied."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.commands import watch, watch_loop, watch_round
from reconciler.model.marker import parse as parse_marker
from tests.adopt.fleet import emulator_project
from tests.apply.helpers import all_pages, deployments, write_project
from tests.harness import Harness, as_dict, example_fleet

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
SECRET_PATH = "/hooks/T000/B000/s3cr3t-webhook-path"


class Receiver:
    """A webhook receiver on 127.0.0.1: keeps every JSON body posted to it."""

    def __init__(self) -> None:
        bodies: list[Any] = []
        self.bodies = bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                bodies.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    r = Receiver()
    monkeypatch.setenv("HOOK_SLACK", r.url(SECRET_PATH))
    monkeypatch.setenv("HOOK_RAW", r.url("/raw"))
    yield r
    r.close()


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def imported_repo(emu: Harness, tmp_path: Path) -> tuple[Path, Path]:
    """The fleet imported into a repository (`origin`), notify webhooks set, and a clone of it."""
    origin = emulator_project(tmp_path / "origin", emu)
    assert CliRunner().invoke(main, ["import", str(origin)]).exit_code == 0
    project = yaml.safe_load((origin / "reconcile.yaml").read_text())
    project["notify"] = [{"url_env": "HOOK_SLACK"}, {"url_env": "HOOK_RAW", "format": "raw"}]
    (origin / "reconcile.yaml").write_text(yaml.safe_dump(project))
    git(origin, "init", "-q")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "imported")
    clone = tmp_path / "clone"
    subprocess.run([*GIT, "clone", "-q", str(origin), str(clone)], check=True)
    return origin, clone


async def current_deployment(emu: Harness, device: str) -> tuple[dict[str, Any], dict[str, Any]]:
    sdk = emu.sdk()
    devices = await all_pages(sdk.devices.list, expand=["current_deployment"])
    dev = next(as_dict(d) for d in devices if as_dict(d)["name"] == device)
    dep = await sdk.deployments.retrieve(dev["current_deployment"]["id"], expand=["config_instances"])
    return dev, as_dict(dep)


async def dashboard_edit(emu: Harness, device: str, max_speed: float) -> None:
    """What a person does in the dashboard: patch one device's motion-control by hand."""
    sdk = emu.sdk()
    dev, current = await current_deployment(emu, device)
    ids = []
    for inst in current["config_instances"]:
        if inst["config_type_id"] and "motion" in json.dumps(inst):
            full = as_dict(await sdk.config_instances.retrieve(inst["id"], expand=["content"]))
            if full["config_schema_id"] and '"max_speed"' in full["content"]["data"]:
                data = json.loads(full["content"]["data"])
                data["max_speed"] = max_speed
                new = await sdk.config_instances.create(
                    config_schema_id=full["config_schema_id"],
                    content={"format": "json", "data": json.dumps(data)},
                )
                ids.append(as_dict(new)["id"])
                continue
        ids.append(inst["id"])
    await sdk.deployments.create(
        device_id=dev["id"],
        release_id=current["release_id"],
        config_instance_ids=ids,
        target_status="deployed",
        description="edited in the dashboard",
    )
    await emu.tick(5)


async def live_speed(emu: Harness, device: str) -> float:
    sdk = emu.sdk()
    _, current = await current_deployment(emu, device)
    for inst in current["config_instances"]:
        full = as_dict(await sdk.config_instances.retrieve(inst["id"], expand=["content"]))
        if '"max_speed"' in full["content"]["data"]:
            return float(json.loads(full["content"]["data"])["max_speed"])
    raise AssertionError("no motion-control")


def rounds(
    opts: watch_round.Options, between: dict[int, Any], last: int
) -> tuple[int, list[dict[str, Any]], list[float]]:
    """Run the loop; after round n do `between[n]` (a coroutine function) instead of waiting."""
    lines: list[str] = []
    waits: list[float] = []
    done = [0]

    async def wait(seconds: float) -> bool:
        waits.append(seconds)
        done[0] += 1
        if done[0] in between:
            await between[done[0]]()
        return done[0] < last

    code = asyncio.run(watch_loop.run(opts, wait=wait, stop=lambda: False, emit=lines.append))
    return code, [json.loads(x) for x in lines], waits


def test_watch_apply_heals_a_dashboard_edit_and_applies_what_is_pushed(
    emu: Harness, tmp_path: Path, hooks: Receiver
) -> None:
    asyncio.run(emu.seed(example_fleet()))
    origin, clone = imported_repo(emu, tmp_path)

    async def edit() -> None:
        await dashboard_edit(emu, "amr-east-03", 2.5)

    async def push() -> None:
        doc = yaml.safe_load((origin / "deploymentsets" / "lab.yaml").read_text())
        doc["spec"]["overrides"] = [
            {"devices": ["lab-arm-02"], "configs": {"motion-control": {"values": {"max_speed": 1.5}}}}
        ]
        (origin / "deploymentsets" / "lab.yaml").write_text(yaml.safe_dump(doc))
        git(origin, "commit", "-qam", "lab-arm-02 faster")

    opts = watch_round.Options(path=clone, interval=300, ref="origin/main", mode="apply")
    code, lines, waits = rounds(opts, {1: edit, 2: push}, last=4)
    assert code == 0 and [x["round"] for x in lines] == [1, 2, 3, 4]
    assert waits == [300.0] * 4
    assert lines[0]["drift"]["devices"] == 0 and lines[0]["applied"] is None
    assert lines[1]["drift"]["devices"] == 1 and lines[1]["events"] == ["drift"]
    assert lines[1]["applied"]["exit_code"] == 0 and lines[1]["plan"]["deploy"] == 1
    assert asyncio.run(live_speed(emu, "amr-east-03")) == 1.0  # healed back to the manifests
    assert lines[2]["commit"] != lines[1]["commit"] and lines[2]["plan"]["deploy"] == 1
    assert lines[2]["pushed"] == 1 and lines[2]["drift"]["devices"] == 0  # pushed work is not drift
    assert asyncio.run(live_speed(emu, "lab-arm-02")) == 1.5  # the pushed change, applied
    assert lines[3]["drift"]["devices"] == 0 and lines[3]["plan"]["deploy"] == 0
    slack = [b["body"] for b in hooks.bodies if b["path"] == SECRET_PATH]
    raw = [b["body"] for b in hooks.bodies if b["path"] == "/raw"]
    assert len(slack) == 1 and "drift" in slack[0]["text"] and "amr-east-03" in slack[0]["text"]
    assert raw[0]["event"] == "drift" and raw[0]["items"][0]["device"] == "amr-east-03"
    assert "s3cr3t" not in json.dumps(lines)


def test_watch_drift_only_reports_once_and_writes_nothing(
    emu: Harness, tmp_path: Path, hooks: Receiver
) -> None:
    asyncio.run(emu.seed(example_fleet()))
    _, clone = imported_repo(emu, tmp_path)

    async def edit() -> None:
        await dashboard_edit(emu, "lab-arm-01", 2.0)

    before = len(asyncio.run(deployments(emu)))
    opts = watch_round.Options(path=clone, interval=60, mode="drift-only")
    _, lines, _ = rounds(opts, {1: edit}, last=3)
    assert [x["drift"]["devices"] for x in lines] == [0, 1, 1]
    assert all(x["applied"] is None and x["plan"] is None for x in lines)
    assert lines[1]["events"] == ["drift"] and lines[2]["events"] == []  # the same drift is sent once
    assert asyncio.run(live_speed(emu, "lab-arm-01")) == 2.0
    assert len(asyncio.run(deployments(emu))) == before + 1  # the dashboard's only
    assert len([b for b in hooks.bodies if b["path"] == "/raw"]) == 1
    once = CliRunner().invoke(main, ["watch", str(clone), "--drift-only", "--once"])
    assert once.exit_code == 2 and json.loads(once.output)["drift"]["devices"] == 1


def test_watch_backs_off_on_errors_and_logs_them(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = emulator_project(tmp_path / "p", emu)
    (root / "sets.yaml").write_text("kind: DeploymentSet\nspec: [broken\n")
    code, lines, waits = rounds(watch_round.Options(path=root, interval=60), {}, last=4)
    assert code == 0 and all(x["error"] for x in lines)
    assert waits == [120.0, 240.0, 480.0, 960.0]
    assert "sets.yaml:3:1" in lines[0]["error"]


def test_interval_and_backoff() -> None:
    assert watch.parse_interval("5m") == 300 and watch.parse_interval("1h30m") == 5400
    assert (
        watch_loop.backoff(300, 0) == 300
        and watch_loop.backoff(300, 1) == 600
        and watch_loop.backoff(300, 9) == 3600
    )
    assert watch_loop.backoff(7200, 3) == 7200


# `python -c TERM_AT N ARGS...` runs `reconcile ARGS...` and sends itself SIGTERM right after its
# N-th deployment write was answered (the transport the wiring chose, wrapped: no product hook).
TERM_AT = """
import dataclasses, os, signal, sys
import httpx
from reconciler.commands import wiring

class TermAtWrite(httpx.AsyncBaseTransport):
    def __init__(self, inner, n):
        self.inner, self.n, self.writes = inner, n, 0

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.startswith("/beta/deployments"):
            self.writes += 1
            if self.writes == self.n:
                os.kill(os.getpid(), signal.SIGTERM)
        return response

    async def aclose(self):
        await self.inner.aclose()

n = int(sys.argv[1])
chosen = wiring.endpoint

def terming(*args, **kwargs):
    ep = chosen(*args, **kwargs)
    return dataclasses.replace(ep, transport=TermAtWrite(ep.transport or httpx.AsyncHTTPTransport(), n))

wiring.endpoint = terming
from reconciler.cli import main
sys.argv = ["reconcile", *sys.argv[2:]]
main()
"""


def test_sigterm_mid_round_leaves_no_device_half_applied(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    rollout = {
        "strategy": "rolling",
        "max_parallel": 2,
        "health_check": {"deadline": "30s", "min_healthy_time": "2s"},
    }
    root = write_project(tmp_path / "p", emu, release="v1.4.2", rollout=rollout)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", TERM_AT, "1", "watch", str(root), "--apply", "--once"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["stopped"] is True, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    ours = [d for d in asyncio.run(deployments(emu)) if parse_marker(d.description) is not None]
    by_device: dict[str, list[Any]] = {}
    for d in ours:
        by_device.setdefault(d.device_id, []).append(d)
    # Upgrades are two writes (stage, deploy): every device started got both; none started after.
    assert 2 <= len(by_device) < 16
    assert all(any(d.target_status == "deployed" for d in deps) for deps in by_device.values())
    again = subprocess.run(
        [str(Path(sys.executable).parent / "reconcile"), "watch", str(root), "--apply", "--once"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert json.loads(again.stdout.strip().splitlines()[-1])["applied"]["exit_code"] == 0, (
        again.stdout + again.stderr
    )
