"""The README tour works as written: from a copy of examples/ (as `cp -r examples /tmp/fleet`
makes it, after `make demo`), `reconcile plan .` prints exactly the README's plan."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_block(command: str) -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"```console\n\$ {re.escape(command)}\n(.*?)```", readme, re.S)
    assert match, f"no console block for `{command}` in README.md"
    return match.group(1)


def test_the_tour_plan_is_what_a_user_sees(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    # What `make demo` runs on: its own copy, so examples/ itself has no applied state.
    shutil.copytree(ROOT / "examples", fleet)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIRU_", "ENROLLMENT_"))}
    env |= {"NO_COLOR": "1", "COLUMNS": "100"}
    reconcile = Path(sys.executable).parent / "reconcile"
    result = subprocess.run(
        [str(reconcile), "plan", "."], cwd=fleet, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == _readme_block("reconcile plan ."), result.stdout
