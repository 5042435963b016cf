"""The action's install step, run for real (opt-in: it downloads from PyPI).

What can be checked offline about action/requirements.lock is in tests/test_locks.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "action" / "requirements.lock"


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("RECONCILE_TEST_ACTION_INSTALL") != "1",
    reason="downloads from PyPI; set RECONCILE_TEST_ACTION_INSTALL=1 to run",
)
def test_install_step_for_real(tmp_path: Path) -> None:
    """Runs action.yml's `install` step script as written: a fresh venv from the lock plus
    the package with --no-deps, then `pip check` (the lock is a complete closure)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [step] = [s for s in action["runs"]["steps"] if s.get("id") == "install"]
    out = tmp_path / "output"
    out.write_text("")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "ACTION_PATH": str(ROOT),
        "VENV": str(tmp_path / "venv"),
        "GITHUB_OUTPUT": str(out),
    }
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=env,
        check=True,
        timeout=900,
    )
    python = out.read_text().strip().removeprefix("python=")
    subprocess.run([python, "-m", "pip", "check"], check=True)
    result = subprocess.run([python, "-m", "reconciler.ci", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "comment" in result.stdout
    # The schemas ship in the wheel: the installed package validates with its own copy.
    where = subprocess.run(
        [python, "-c", "from reconciler.manifests.schema_check import schema_dir; print(schema_dir())"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    packaged = Path(where.stdout.strip())
    assert "site-packages" in str(packaged) and (packaged / "deploymentset.schema.json").is_file()
    reconcile = Path(python).parent / "reconcile"
    ok = subprocess.run(
        [str(reconcile), "validate", str(ROOT / "examples")], capture_output=True, text=True, cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stderr
