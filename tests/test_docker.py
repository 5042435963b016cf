"""The container image: slim, non-root, the lock installed, `reconcile watch` by default. The
build runs where a Docker engine answers; elsewhere it is skipped, saying why."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
TAG = "reconcile-test:latest"


def _engine() -> str | None:
    """Why there is no usable Docker engine here, or None when there is one."""
    exe = shutil.which("docker")
    if exe is None:
        return "no docker command on PATH"
    probe = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return "the docker command cannot reach a Docker engine (`docker info` failed)"
    return None


def test_dockerfile_installs_the_lock_runs_unprivileged_and_defaults_to_watch() -> None:
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert any(line.startswith("FROM python:3.11-slim") for line in lines)
    assert "--no-deps -r action/requirements.lock" in text  # exact pins, no resolution
    assert "--no-deps /wheels/*.whl" in text  # the package adds no dependency of its own
    users = [line for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("USER root", "USER 0")
    assert lines[-2:] == ['ENTRYPOINT ["reconcile", "watch"]', 'CMD ["--help"]']
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv"} <= set(ignored)  # nothing local (keys in a venv, history) in the context


def test_the_image_builds_and_its_default_command_prints_watch_help() -> None:
    why = _engine()
    if why is not None:
        pytest.skip(f"Docker build not tested: {why}")
    build = subprocess.run(
        ["docker", "build", "-q", "-t", TAG, str(ROOT)], capture_output=True, text=True, timeout=900
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run(["docker", "run", "--rm", TAG], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Usage: reconcile watch" in run.stdout and "--once" in run.stdout
    whoami = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "id", TAG, "-u"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert whoami.stdout.strip() not in ("", "0")
