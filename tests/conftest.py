"""Shared fixtures: the anyio backend and `emu`, an emulator over a tmp SQLite file with a
manual clock (see tests/harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Harness, make_harness


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Harness]:
    """An empty emulator (manual clock at 2026-01-01T00:00:00Z); seed it with
    `await emu.seed(example_fleet())`."""
    harness = make_harness(str(tmp_path / "emulator.db"))
    yield harness
    harness.close()
