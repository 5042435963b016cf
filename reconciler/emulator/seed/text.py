"""A seed's text: YAML or JSON in (dates stay strings), and the line and column an error's
entry path points at."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator.seed.errors import SeedError

# libyaml's parser when present: seeds of 10,000+ devices parse several times faster.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """YAML without implicit timestamps: dates in seeds stay the strings they were written as."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(text: str | bytes) -> dict[str, Any]:
    data = _json_object(text)
    if data is not None:
        return data
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise SeedError(f"seed is not valid YAML/JSON: {e}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SeedError("a seed must be a mapping with groups, config_types, ... keys")
    return data


def _json_object(text: str | bytes) -> dict[str, Any] | None:
    """A seed written as JSON, parsed by `json` (JSON is YAML, but libyaml takes about 1 s per
    1,000 devices with configs; `json` 100 times less). Anything else is left to YAML, whose
    errors carry the line and column."""
    head = text.lstrip()[:1]
    if head not in ("{", b"{"):
        return None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # YAML reads NaN/Infinity as strings: let it


def read(path: str | Path) -> dict[str, Any]:
    return parse(Path(path).read_bytes())


_SEGMENT = re.compile(r"([A-Za-z_][\w-]*)|\[(\d+)\]")


def locate(text: str, message: str) -> tuple[int, int] | None:
    """Line and column (1-based) of the deepest node named by the path a message starts with
    (`devices[2] (name).configs.motion-control: ...`; schema errors: `invalid seed:\n  path: ...`)."""
    first = message.split("\n  ", 1)[1] if message.startswith("invalid seed:") else message
    head = re.sub(r" \([^)]*\)", "", first.split(":", 1)[0])
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    best: yaml.Node | None = None
    for m in _SEGMENT.finditer(head):
        key, index = m.group(1), m.group(2)
        if key is not None and isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif index is not None and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            found = node.value[int(index)]
        else:
            found = None
        if found is None:
            break
        best = node = found
    if best is None:
        return None
    mark = best.start_mark
    return mark.line + 1, mark.column + 1
