"""`reconcile plan --base-url` against a real server: the emulator served by uvicorn on
127.0.0.1 in a separate process, reached with MIRU_API_KEY (a wrong key is a clear error
that never prints the key)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.harness import example_fleet, make_harness
from tests.plan.projects import ENROLLMENT_TOKEN, EXAMPLES, served_emulator, write_project


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "served.db"
    h = make_harness(str(db))
    asyncio.run(h.seed(example_fleet()))
    h.close()
    with served_emulator(db) as url:
        yield url, write_project(tmp_path / "p", str(tmp_path / "unused.db"))


def test_plan_over_loopback_with_key_and_with_a_wrong_key(
    served: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, project = served
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    monkeypatch.setenv("MIRU_API_KEY", "emulator-local-ro")
    result = CliRunner().invoke(main, ["plan", str(project), "--base-url", f"{url}/beta"])
    assert result.exit_code == 0, result.stderr
    assert f"Target: {url}/beta" in result.stdout
    assert "Plan: 14 to deploy, 3 to upgrade" in result.stdout
    assert not (project.parent / "unused.db").exists()  # no fallback to the embedded emulator
    monkeypatch.setenv("MIRU_BASE_URL", f"{url}/beta")  # the environment variable works the same
    monkeypatch.setenv("MIRU_API_KEY", "not-a-valid-key-9876")
    result = CliRunner().invoke(main, ["plan", str(project)])
    assert result.exit_code == 1
    assert "HTTP 401" in result.stderr and "check MIRU_API_KEY" in result.stderr
    assert "not-a-valid-key-9876" not in result.stderr + result.stdout


def test_enrollment_path_over_loopback_needs_the_token(
    served: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples' `enrollment.base_url: /v2` is a path on the platform's host, so it works
    against a served emulator too; the built-in token is only for the embedded emulator, so
    here ENROLLMENT_TOKEN is needed and its absence is said."""
    url, _ = served
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".reconcile"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("MIRU_API_KEY", "emulator-local-ro")
    monkeypatch.delenv("ENROLLMENT_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["plan", str(root), "--base-url", f"{url}/beta"])
    assert result.exit_code == 0, result.stderr
    assert "| enrollment service: HTTP 401 for amr-spare-01" in result.stdout
    assert "ENROLLMENT_TOKEN is not set" in result.stdout
    assert "emulator-enrollment-token" not in result.stdout
    monkeypatch.setenv("ENROLLMENT_TOKEN", ENROLLMENT_TOKEN)
    result = CliRunner().invoke(main, ["plan", str(root), "--base-url", f"{url}/beta"])
    assert "|   2026-01-29T09:00:15Z: Installation failed - insufficient permissions" in result.stdout
    assert ENROLLMENT_TOKEN not in result.stdout
