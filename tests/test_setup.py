"""The Makefile's install logic and .ci/run's exit status, on throwaway copies (no network:
make only prints what it would do, or runs stubbed targets).

A full fresh-machine run (clone, `.ci/run` with a failing test -> non-zero, then green, then
`make demo`) is done by hand; see docs/ci.md, "Checking the set-up"."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _make(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return subprocess.run(["make", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("pyproject.toml", "locks/dev.lock", "action/requirements.lock"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_first_run_installs_second_run_does_not(project: Path) -> None:
    first = _make(project, "-n", "test", "demo")
    assert first.returncode == 0, first.stderr
    assert "-m venv .venv" in first.stdout and "install --no-deps -r locks/dev.lock" in first.stdout

    # What the first run leaves behind: the venv's python and the stamp, newer than pyproject.
    python = project / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    stamp = project / ".venv" / ".installed-stamp"
    stamp.touch()
    past = time.time() - 60
    inputs = [project / n for n in ("pyproject.toml", "locks/dev.lock", "action/requirements.lock")]
    for path in inputs:
        os.utime(path, (past, past))

    assert _make(project, "-q", "install").returncode == 0  # up to date: nothing to do
    second = _make(project, "-n", "test", "demo")
    assert second.returncode == 0, second.stderr
    assert " install " not in second.stdout and "-m venv" not in second.stdout
    assert ".venv/bin/pytest" in second.stdout and ".venv/bin/reconcile validate .demo/fleet" in second.stdout

    # A changed pyproject.toml or lock is the one reason to install again: a fresh venv, from the lock.
    for changed in inputs:
        os.utime(changed, None)
        again = _make(project, "-n", "install")
        assert "rm -rf .venv" in again.stdout and "-m venv .venv" in again.stdout, changed
        assert "install --no-deps -r locks/dev.lock" in again.stdout
        assert "--no-deps --no-build-isolation -e ." in again.stdout  # the project adds no version of its own
        os.utime(changed, (past, past))


def test_the_demo_leaves_examples_clean(project: Path) -> None:
    """`make demo` runs on a copy, so the README tour's `cp -r examples` starts from the seed."""
    out = _make(project, "-n", "-W", "pyproject.toml", "demo").stdout
    commands = [ln for ln in out.splitlines() if ln.startswith(".venv/bin/reconcile")]
    assert commands and all(" .demo/fleet" in ln and "examples" not in ln for ln in commands), out


def test_make_test_runs_lint_first(project: Path) -> None:
    out = _make(project, "-n", "-W", "pyproject.toml", "test").stdout
    lines = [ln for ln in out.splitlines() if ln.startswith(".venv/bin/")]
    tools = [ln.split()[0].rsplit("/", 1)[1] for ln in lines if "pip" not in ln]
    assert tools == ["ruff", "ruff", "mypy", "pytest"], out
    assert "ruff format --check" in out


@pytest.mark.parametrize(("recipe", "code"), [("exit 1", 2), ("true", 0)])
def test_ci_run_fails_when_make_test_fails(tmp_path: Path, recipe: str, code: int) -> None:
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "Makefile").write_text(f"test:\n\t{recipe}\n")
    result = subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run")], cwd="/", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == code, result.stdout + result.stderr
