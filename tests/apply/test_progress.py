"""Progress: a rich display per wave on a terminal (a real pty), plain lines otherwise;
NO_COLOR turns colour off but keeps the display."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.apply.helpers import on_a_terminal, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio
RECONCILE = str(Path(sys.executable).parent / "reconcile")
COLOUR = re.compile(rb"\x1b\[[0-9;]*m")
HEALTH = {"deadline": "30s", "min_healthy_time": "1s"}


def env_without(*names: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in names}
    return {**env, "TERM": "xterm", "COLUMNS": "120", **extra}


@pytest.mark.slow
@pytest.mark.parametrize("no_color", [False, True])
async def test_rich_waves_on_a_terminal(emu: Harness, tmp_path: Path, no_color: bool) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={"strategy": "rolling", "max_parallel": 2, "health_check": HEALTH},
    )
    env = env_without("NO_COLOR", **({"NO_COLOR": "1"} if no_color else {}))
    code, shown = on_a_terminal([RECONCILE, "apply", str(root), "--auto-approve"], env)
    assert code == 0, shown[-2000:]
    assert b"all wave 1/2" in shown and b"all wave 2/2" in shown
    assert "━".encode() in shown  # the bar, redrawn in place
    assert b"[all] lab-arm-01: started" not in shown  # the plain lines are for pipes
    assert bool(COLOUR.search(shown)) is not no_color


def test_plain_lines_without_a_terminal(emu: Harness, tmp_path: Path) -> None:
    import asyncio

    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={"strategy": "rolling", "max_parallel": 2, "health_check": HEALTH},
    )
    done = subprocess.run(
        [RECONCILE, "apply", str(root), "--auto-approve"],
        capture_output=True,
        env=env_without("NO_COLOR"),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not COLOUR.search(done.stderr + done.stdout) and b"\r" not in done.stderr
    lines = done.stderr.decode().splitlines()
    assert "[all] wave 1/2: 2 devices" in lines and "[all] wave 2/2: 1 device" in lines
    assert "[all] lab-arm-01: succeeded" in lines
    assert re.search(r"lab-arm-01 +succeeded +all +wave 1", done.stdout.decode())  # the ledger on stdout


@pytest.mark.slow
async def test_plain_lines_on_a_dumb_terminal(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={"strategy": "rolling", "max_parallel": 2, "health_check": HEALTH},
    )
    code, shown = on_a_terminal(
        [RECONCILE, "apply", str(root), "--auto-approve"], {**env_without("NO_COLOR"), "TERM": "dumb"}
    )
    assert code == 0, shown[-2000:]
    assert b"[all] wave 1/2: 2 devices" in shown and "━".encode() not in shown
