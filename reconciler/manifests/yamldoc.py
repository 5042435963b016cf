"""A loaded YAML document with the position of each of its parts, and paths into it (keys and
indexes): as JSON paths for locations, dotted for messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import Location, Problem

PathT = tuple[str | int, ...]


def json_path(path: PathT) -> str:
    """`("spec", "configs", "motion-control", 0)` -> `$.spec.configs['motion-control'][0]`."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += "['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return out


def dotted(path: PathT) -> str:
    """A short human form of a path for messages: `spec.overrides[0].devices`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class Document:
    """One YAML document: its data and where each part of it is (1-based line, column).

    `positions` maps a JSON path (tuple of keys and indexes) to where its value starts;
    `key_positions` maps the path of a mapping entry to where its key starts."""

    file: str
    index: int
    data: Any
    start: tuple[int, int]
    positions: Mapping[PathT, tuple[int, int]] = field(default_factory=dict)
    key_positions: Mapping[PathT, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathT = (), *, key: bool = False) -> tuple[int, int]:
        """The position of `path` (its key when `key`), or of its nearest located ancestor."""
        if key and path in self.key_positions:
            return self.key_positions[path]
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), self.start)

    def loc(self, path: PathT = (), *, key: bool = False) -> Location:
        line, col = self.where(path, key=key)
        return Location(self.file, line, col, json_path(path))

    def problem(self, message: str, path: PathT = (), *, key: bool = False) -> Problem:
        return Problem(message, self.loc(path, key=key))
