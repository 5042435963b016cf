"""Ctrl-C during apply names the rollouts left in flight and the exact command that resumes
them; running that command finishes the rollout. SIGINT comes from a transport wrapper
after the n-th answered write, as a user's Ctrl-C would (product code has no hook)."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.apply.helpers import write_project
from tests.harness import Harness, example_fleet

RECONCILE = str(Path(sys.executable).parent / "reconcile")
INTERRUPTER = """
import dataclasses, os, signal, sys
import httpx
from reconciler.commands import wiring

class CtrlCAtWrite(httpx.AsyncBaseTransport):
    def __init__(self, inner, n):
        self.inner, self.n, self.writes = inner, n, 0

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        if request.method != "GET" and request.url.path.startswith("/beta/deployments"):
            self.writes += 1
            if self.writes == self.n:
                os.kill(os.getpid(), signal.SIGINT)
        return response

    async def aclose(self):
        await self.inner.aclose()

n = int(sys.argv[1])
chosen = wiring.endpoint

def interrupting(*args, **kwargs):
    ep = chosen(*args, **kwargs)
    transport = CtrlCAtWrite(ep.transport or httpx.AsyncHTTPTransport(), n)
    return dataclasses.replace(ep, transport=transport)

wiring.endpoint = interrupting
from reconciler.cli import main
sys.argv = ["reconcile", *sys.argv[2:]]
main()
"""


def test_ctrl_c_names_the_rollouts_in_flight_and_how_to_resume(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    rollout = {
        "strategy": "rolling",
        "max_parallel": 2,
        "health_check": {"deadline": "30s", "min_healthy_time": "1s"},
    }
    root = write_project(tmp_path / "p", emu, groups=("fleet",), rollout=rollout)
    cut = subprocess.run(
        [sys.executable, "-c", INTERRUPTER, "3", "apply", str(root), "--auto-approve"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cut.returncode == 1, cut.stderr[-2000:]
    assert "Traceback" not in cut.stderr and "Aborted." not in cut.stderr
    assert re.search(
        r"error: interrupted: rollout left in flight: ro-[0-9a-f]{12} \(all, wave \d+/\d+\)", cut.stderr
    )
    m = re.search(r"hint: resume with `(reconcile apply .*? --auto-approve)`", cut.stderr)
    assert m, cut.stderr[-2000:]
    command = shlex.split(m.group(1))
    assert command[3] == "--plan" and Path(command[4]).is_file()
    resumed = subprocess.run([RECONCILE, *command[1:]], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "14 succeeded" in resumed.stdout
