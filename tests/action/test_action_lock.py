"""action/requirements.lock pins exactly the runtime dependency closure the tests ran with.

The action installs `pip install -r action/requirements.lock` then the package with
`--no-deps`, so a missing pin is an ImportError on the runner and a stale pin is untested
code. Regenerate with `.venv/bin/python action/update_lock.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "action" / "requirements.lock"


def _lock() -> list[Requirement]:
    lines = [ln.strip() for ln in LOCK.read_text().splitlines()]
    return [Requirement(ln) for ln in lines if ln and not ln.startswith("#")]


def _applicable() -> dict[str, str]:
    pins: dict[str, str] = {}
    for req in _lock():
        if req.marker is None or req.marker.evaluate():
            [spec] = list(req.specifier)
            assert spec.operator == "==", f"{req} is not an exact pin"
            name = canonicalize_name(req.name)
            assert name not in pins, f"{name} pinned twice for this Python"
            pins[name] = spec.version
    return pins


def _closure() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: dict[str, str] = {}
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        dist = metadata.distribution(req.name)
        seen[name] = dist.version
        todo += [Requirement(r) for r in dist.requires or []]
    return seen


def test_every_pin_is_exact_and_every_python_is_covered() -> None:
    reqs = _lock()
    assert reqs
    for req in reqs:
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", str(req)
    direct = {canonicalize_name(Requirement(r).name) for r in
              tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    for minor in ("3.10", "3.11", "3.12", "3.13"):
        env = {"python_version": minor, "python_full_version": f"{minor}.0"}
        names = [canonicalize_name(r.name) for r in reqs if r.marker is None or r.marker.evaluate(env)]
        assert len(names) == len(set(names)), f"a package is pinned twice for Python {minor}"
        assert direct <= set(names), f"Python {minor}: unpinned {direct - set(names)}"


def test_lock_matches_the_tested_environment() -> None:
    closure = _closure()
    pins = _applicable()
    assert set(pins) == set(closure), (
        f"missing from the lock: {sorted(set(closure) - set(pins))}; "
        f"not needed: {sorted(set(pins) - set(closure))}; run action/update_lock.py")
    stale = {n: (pins[n], closure[n]) for n in pins if pins[n] != closure[n]}
    assert not stale, f"lock != installed (lock, venv): {stale}; run {sys.executable} action/update_lock.py"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("RECONCILE_TEST_ACTION_INSTALL") != "1",
                    reason="downloads from PyPI; set RECONCILE_TEST_ACTION_INSTALL=1 to run")
def test_install_step_for_real(tmp_path: Path) -> None:
    """Runs action.yml's `install` step script as written: a fresh venv from the lock plus
    the package with --no-deps, then `pip check` (the lock is a complete closure)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    [step] = [s for s in action["runs"]["steps"] if s.get("id") == "install"]
    out = tmp_path / "output"
    out.write_text("")
    env = {**os.environ, "PYTHON": sys.executable, "ACTION_PATH": str(ROOT), "VENV": str(tmp_path / "venv"),
           "GITHUB_OUTPUT": str(out)}
    subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env,
                   check=True, timeout=900)
    python = out.read_text().strip().removeprefix("python=")
    subprocess.run([python, "-m", "pip", "check"], check=True)
    result = subprocess.run([python, "-m", "reconciler.ci", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "comment" in result.stdout
    # The schemas ship in the wheel: the installed package validates with its own copy.
    where = subprocess.run([python, "-c", "from reconciler.manifests.schema_check import schema_dir; "
                            "print(schema_dir())"], capture_output=True, text=True, cwd=tmp_path, check=True)
    packaged = Path(where.stdout.strip())
    assert "site-packages" in str(packaged) and (packaged / "deploymentset.schema.json").is_file()
    reconcile = Path(python).parent / "reconcile"
    ok = subprocess.run([str(reconcile), "validate", str(ROOT / "examples")], capture_output=True, text=True,
                        cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
