"""`apply --promote` reports what it did: no "config instances: N to create" when the
instances exist since the first run, and no ledger of a set that finished earlier."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from reconciler.cli import main
from tests.apply.helpers import write_project
from tests.harness import Harness, example_fleet

HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_promote_reports_only_the_promoted_rollout(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    root = tmp_path / "p"
    write_project(
        root,
        emu,
        name="lab",
        groups=("lab",),
        release="v1.4.2",
        rollout={"strategy": "canary", "canary_count": 1, "health_check": HEALTH},
    )
    write_project(root, emu, name="west", groups=("warehouse-west",), max_speed=1.1)
    first = cli("apply", str(root), "--auto-approve")
    assert first.exit_code == 0, first.output
    assert "config instances: 2 " in first.stderr  # motion-control for each set
    assert "amr-west-01" in first.stdout and "paused" in first.stdout

    promoted = cli("apply", str(root), "--promote")
    assert promoted.exit_code == 0, promoted.output
    assert "to create" not in promoted.output and "created" not in promoted.stderr
    assert "lab-arm-02" in promoted.stdout and "completed" in promoted.stdout
    assert "amr-west-01" not in promoted.stdout and "(west," not in promoted.stdout
