"""A seed that cannot be loaded, and naming the entry a platform error came from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.emulator.errors import ApiError


class SeedError(ValueError):
    """A seed that cannot be loaded; the message names the entry and field."""


@contextmanager
def entry(kind: str, i: int) -> Iterator[None]:
    """Name the seed entry in platform errors (a duplicate name, an invalid schema, ...)."""
    try:
        yield
    except ApiError as e:
        raise SeedError(f"{kind}[{i}]: {e.message}") from None
