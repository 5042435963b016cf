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
from reconciler.sensitive import SHOWN, SecretFields

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


def _parts(deep_path: str) -> tuple[str | int, ...]:
    return tuple(
        m.group(1)[1:-1] if m.group(1)[0] in "'\"" else int(m.group(1)) for m in _PART.finditer(deep_path)
    )


def config_diffs(root: str, old: Any, new: Any, secret: SecretFields | None = None) -> list[ConfigDiff]:
    """The changes from `old` to `new` (parsed content) under path `root`.
    None on one side means the instance is added or removed as a whole. With `secret`, the
    secret fields' values are `(secret)` in the diffs: they are shown and stored nowhere."""
    out: list[ConfigDiff] = []
    for op, parts, path, was, now in _changes(root, old, new):
        if secret is not None:
            for value in (was, now):  # remembered, so that redact() hides them anywhere
                secret.leaves(value, parts)
            was = None if was is None else secret.mask(was, parts)
            now = None if now is None else secret.mask(now, parts)
        out.append(ConfigDiff(op, path, was, now))
    return sorted(out, key=lambda d: (d.path, d.op))


_Change = tuple[DiffOp, tuple[str | int, ...], str, Any, Any]


def _changes(root: str, old: Any, new: Any) -> list[_Change]:
    if old is None and new is None:
        return []
    if old is None:
        return [(DiffOp.ADD, (), root, None, new)]
    if new is None:
        return [(DiffOp.REMOVE, (), root, old, None)]
    if isinstance(old, str) or isinstance(new, str) or type(old) is not type(new):
        return [] if old == new else [(DiffOp.CHANGE, (), root, old, new)]
    dd = DeepDiff(old, new, verbose_level=2, ignore_order=False)
    out: list[_Change] = []
    for kind, entries in dd.items():
        for p, v in entries.items():
            parts = _parts(p)
            if kind in ("dictionary_item_added", "iterable_item_added"):
                out.append((DiffOp.ADD, parts, _path(root, p), None, v))
            elif kind in ("dictionary_item_removed", "iterable_item_removed"):
                out.append((DiffOp.REMOVE, parts, _path(root, p), v, None))
            elif kind in ("values_changed", "type_changes"):
                out.append((DiffOp.CHANGE, parts, _path(root, p), v.get("old_value"), v.get("new_value")))
    return out


def describe(d: ConfigDiff) -> str:
    """One line: `motion-control.max_speed: 1.0 -> 1.2`, `+ x.y: 3`, `- x.z: [..]`,
    `app.api_token: (secret changed)`."""
    if d.op == DiffOp.CHANGE and d.old == SHOWN and d.new == SHOWN:
        return f"{d.path}: (secret changed)"
    if d.op == "add":
        return f"+ {d.path}: {short(d.new)}"
    if d.op == "remove":
        return f"- {d.path}: {short(d.old)}"
    return f"{d.path}: {short(d.old)} -> {short(d.new)}"


def short(value: Any, limit: int = 60) -> str:
    """A value as compact JSON, cut to `limit` characters."""
    if value == SHOWN:
        return SHOWN
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
