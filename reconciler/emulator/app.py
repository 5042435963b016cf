"""The emulator's ASGI app (placeholder until the emulator issue lands)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from starlette.applications import Starlette


def create_app(db: str, *, seed: str | Path | None = None,
               api_keys: Mapping[str, str] | None = None, clock: str = "real") -> Starlette:
    raise NotImplementedError("the emulator is not built yet")
