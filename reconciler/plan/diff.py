"""Field-level differences between live and desired config content.

A diff's path is data: `("motion-control", "default", "safety", "lidar_zones", 1)`, the config
type slug, the slot key, then keys and list indices. Only `render_path` (for the renderers)
turns it into `motion-control.safety.lidar_zones[1]`, with `[slot]` after the slug when the
slot is not `default`. deepdiff finds the differences; this module only names them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from deepdiff import DeepDiff

from reconciler.model.enums import DiffOp
from reconciler.model.plan import ConfigDiff, PathT
from reconciler.sensitive import SHOWN, SecretFields

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def prefix(config_type: str, slot: str) -> str:
    return config_type if slot == "default" else f"{config_type}[{slot}]"


def render_path(path: PathT) -> str:
    """`("motion-control", "default", "safety", "zones", 1)` -> `motion-control.safety.zones[1]`;
    a key that is not an identifier is quoted (`x["a.b"]`), so the text never misleads."""
    if len(path) < 2:
        return ".".join(str(p) for p in path)
    out = prefix(str(path[0]), str(path[1]))
    for part in path[2:]:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if _IDENT.match(part) else f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def config_diffs(
    root: tuple[str, str], old: Any, new: Any, secret: SecretFields | None = None
) -> list[ConfigDiff]:
    """The changes from `old` to `new` (parsed content) of one (config type, slot).
    None on one side means the instance is added or removed as a whole. With `secret`, the
    secret fields' values are `(secret)` in the diffs: they are shown and stored nowhere."""
    out: list[ConfigDiff] = []
    for op, parts, was, now in _changes(old, new):
        if secret is not None:
            for value in (was, now):  # remembered, so that redact() hides them anywhere
                secret.leaves(value, parts)
            was = None if was is None else secret.mask(was, parts)
            now = None if now is None else secret.mask(now, parts)
        out.append(ConfigDiff(op, (*root, *parts), was, now))
    return sorted(out, key=lambda d: (order(d.path), d.op))


def order(path: PathT) -> tuple[tuple[int, int, str], ...]:
    """A sort key for paths mixing keys and indices (indices in number order)."""
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path)


_Change = tuple[DiffOp, PathT, Any, Any]


def _changes(old: Any, new: Any) -> list[_Change]:
    if old is None and new is None:
        return []
    if old is None:
        return [(DiffOp.ADD, (), None, new)]
    if new is None:
        return [(DiffOp.REMOVE, (), old, None)]
    if isinstance(old, str) or isinstance(new, str) or type(old) is not type(new):
        return [] if old == new else [(DiffOp.CHANGE, (), old, new)]
    out: list[_Change] = []
    # The tree view gives each path as a list of keys and indices: nothing to parse back.
    for kind, levels in DeepDiff(old, new, view="tree", ignore_order=False).items():
        for level in levels:
            parts = tuple(level.path(output_format="list"))
            if kind in ("dictionary_item_added", "iterable_item_added"):
                out.append((DiffOp.ADD, parts, None, level.t2))
            elif kind in ("dictionary_item_removed", "iterable_item_removed"):
                out.append((DiffOp.REMOVE, parts, level.t1, None))
            elif kind in ("values_changed", "type_changes"):
                out.append((DiffOp.CHANGE, parts, level.t1, level.t2))
    return out


def describe(d: ConfigDiff) -> str:
    """One line: `motion-control.max_speed: 1.0 -> 1.2`, `+ x.y: 3`, `- x.z: [..]`,
    `app.api_token: (secret changed)`; ` (from site-north)` when a layer decided the value."""
    path = render_path(d.path)
    origin = f" (from {d.source.deployment_set})" if d.source is not None else ""
    if d.op == DiffOp.CHANGE and d.old == SHOWN and d.new == SHOWN:
        return f"{path}: (secret changed){origin}"
    if d.op == "add":
        return f"+ {path}: {short(d.new)}{origin}"
    if d.op == "remove":
        return f"- {path}: {short(d.old)}{origin}"
    return f"{path}: {short(d.old)} -> {short(d.new)}{origin}"


def short(value: Any, limit: int = 60) -> str:
    """A value as compact JSON, cut to `limit` characters."""
    if value == SHOWN:
        return SHOWN
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
