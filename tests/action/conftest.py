from __future__ import annotations

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
