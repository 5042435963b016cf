"""Fields of a request body as handlers read them: a 400 names the field that is missing or of the
wrong type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.emulator.errors import invalid


def req_str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise invalid(f"{name} is required and must be a non-empty string", field=name)
    return value


def opt_str(body: Mapping[str, Any], name: str, *, nonempty: bool = False) -> str | None:
    """An optional string field; `nonempty` for names, which an update may not blank out."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or (nonempty and not value):
        raise invalid(f"{name} must be a {'non-empty ' if nonempty else ''}string", field=name)
    return value
