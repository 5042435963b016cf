from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ghstandin import TOKEN, GitHubState, serve


@pytest.fixture
def github() -> Iterator[tuple[GitHubState, str]]:
    """GitHub's REST API stand-in on 127.0.0.1: (state, base URL)."""
    state = GitHubState(token=TOKEN)
    with serve(state) as url:
        yield state, url


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A git repository holding a copy of `examples/` (the emulator-target project), as the
    checkout a workflow job runs the action in."""
    ws = tmp_path / "ws"
    shutil.copytree(
        ROOT / "examples", ws / "examples", ignore=shutil.ignore_patterns(".reconcile", "workflows")
    )
    git = ["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(ws)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fleet"], check=True)
    return ws
