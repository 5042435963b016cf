"""Field-level differences between live and desired config content.

Paths read like `motion-control.max_speed` or `motion-control.safety.lidar_zones[1]`;
the config type slug comes first, then `[slot]` when the slot is not `default`.
deepdiff finds the differences; this module only names them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from deepdiff import DeepDiff

from reconciler.model.enums import DiffOp
from reconciler.model.plan import ConfigDiff

_PART = re.compile(r"\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\d+)\]")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def prefix(config_type: str, slot: str) -> str:
    return config_type if slot == "default" else f"{config_type}[{slot}]"


def _path(root: str, deep_path: str) -> str:
    # deepdiff paths look like root['safety']['lidar_zones'][1]
    out = root
    for m in _PART.finditer(deep_path):
        token = m.group(1)
        if token[0] in "'\"":
            key = token[1:-1]
            out += f".{key}" if _IDENT.match(key) else f"[{token}]"
        else:
            out += f"[{token}]"
    return out


def config_diffs(root: str, old: Any, new: Any) -> list[ConfigDiff]:
    """The changes from `old` to `new` (parsed content) under path `root`.
    None on one side means the instance is added or removed as a whole."""
    if old is None and new is None:
        return []
    if old is None:
        return [ConfigDiff(DiffOp.ADD, root, None, new)]
    if new is None:
        return [ConfigDiff(DiffOp.REMOVE, root, old, None)]
    if isinstance(old, str) or isinstance(new, str) or type(old) is not type(new):
        return [] if old == new else [ConfigDiff(DiffOp.CHANGE, root, old, new)]
    dd = DeepDiff(old, new, verbose_level=2, ignore_order=False)
    out: list[ConfigDiff] = []
    for kind, entries in dd.items():
        if kind in ("dictionary_item_added", "iterable_item_added"):
            out += [ConfigDiff(DiffOp.ADD, _path(root, p), None, v) for p, v in entries.items()]
        elif kind in ("dictionary_item_removed", "iterable_item_removed"):
            out += [ConfigDiff(DiffOp.REMOVE, _path(root, p), v, None) for p, v in entries.items()]
        elif kind in ("values_changed", "type_changes"):
            out += [
                ConfigDiff(DiffOp.CHANGE, _path(root, p), v.get("old_value"), v.get("new_value"))
                for p, v in entries.items()
            ]
    return sorted(out, key=lambda d: (d.path, d.op))


def describe(d: ConfigDiff) -> str:
    """One line: `motion-control.max_speed: 1.0 -> 1.2`, `+ x.y: 3`, `- x.z: [..]`."""
    if d.op == "add":
        return f"+ {d.path}: {short(d.new)}"
    if d.op == "remove":
        return f"- {d.path}: {short(d.old)}"
    return f"{d.path}: {short(d.old)} -> {short(d.new)}"


def short(value: Any, limit: int = 60) -> str:
    """A value as compact JSON, cut to `limit` characters."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
