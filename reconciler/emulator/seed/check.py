"""Checking a seed against `schemas/seed.schema.json`, once per distinct device shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from reconciler.emulator.seed.errors import SeedError


def schema_path() -> Path:
    here = Path(__file__).resolve()
    for candidate in (
        here.parents[3] / "schemas" / "seed.schema.json",
        here.parents[2] / "schemas" / "seed.schema.json",
    ):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("seed.schema.json not found next to the package")


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path().read_text())
    cls = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def check(data: Mapping[str, Any]) -> list[str]:
    """Validate against seed.schema.json. Fleets repeat one device shape thousands of times,
    so each distinct shape (a device without its name) is validated once, at its first index.
    Returns each device's shape, so loading resolves a shape's configs once too."""
    devices = data.get("devices")
    sample: dict[str, Any] = dict(data)
    where: list[int] = []
    keys: list[str] = []
    if isinstance(devices, list):
        shapes: dict[str, int] = {}
        for i, d in enumerate(devices):
            if isinstance(d, dict) and isinstance(d.get("name"), str) and d["name"]:
                key = json.dumps({k: v for k, v in d.items() if k != "name"}, sort_keys=True, default=str)
            else:
                key = f"#{i}"
            shapes.setdefault(key, i)
            keys.append(key)
        where = list(shapes.values())
        sample["devices"] = [devices[i] for i in where]
    errors = sorted(_validator().iter_errors(sample), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = []
        for e in errors[:20]:
            path = list(e.absolute_path)
            if len(path) >= 2 and path[0] == "devices" and isinstance(path[1], int):
                path[1] = where[path[1]]
            text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "."
            lines.append(f"{text.lstrip('.') or '(top)'}: {e.message}")
        raise SeedError("invalid seed:\n  " + "\n  ".join(lines))
    return keys
