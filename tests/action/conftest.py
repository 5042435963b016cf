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
    # The embedded emulator keeps wall time (as the demo does): the examples' 2 s of health per
    # wave and 1 s agents would be seconds of waiting in every apply here, where the action's
    # steps are what is tested.
    for dset in (ws / "examples" / "deploymentsets").glob("*.yaml"):
        dset.write_text(dset.read_text().replace("min_healthy_time: 2s", "min_healthy_time: 0s"))
    seed = ws / "examples" / "seed.yaml"
    seed.write_text(seed.read_text().replace("delay: 1}", "delay: 0}"))
    git = ["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(ws)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fleet"], check=True)
    return ws
