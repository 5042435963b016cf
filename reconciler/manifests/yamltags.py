"""The YAML a manifest may use: plain scalars (dates stay text), sequences, mappings and merge
keys; any other tag (`!!python/...`, custom tags) is refused with `tag_message`."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode

_Y = "tag:yaml.org,2002:"
STR, NULL, BOOL, INT, FLOAT = _Y + "str", _Y + "null", _Y + "bool", _Y + "int", _Y + "float"
TIMESTAMP, MAP, SEQ, MERGE = _Y + "timestamp", _Y + "map", _Y + "seq", _Y + "merge"
SCALAR_TAGS = {STR, NULL, BOOL, INT, FLOAT, TIMESTAMP}
_CONSTRUCTOR = SafeConstructor()


def short_tag(tag: str) -> str:
    return "!!" + tag[len(_Y) :] if tag.startswith(_Y) else tag


def tag_message(tag: str) -> str:
    return (
        f"tag {short_tag(tag)} is not allowed: manifests are plain YAML (no language-specific or custom tags)"
    )


def scalar(node: ScalarNode) -> Any:
    """The value of a scalar of one of `SCALAR_TAGS`; ValueError (saying why) when its text is
    not a valid value of its tag."""
    tag = node.tag
    if tag in (STR, TIMESTAMP):
        # Dates stay text: a release named 2026-01-01 is a string, not a datetime.
        return node.value
    if tag == NULL:
        return None
    try:
        if tag == BOOL:
            return _CONSTRUCTOR.construct_yaml_bool(node)
        if tag == INT:
            return _CONSTRUCTOR.construct_yaml_int(node)
        return _CONSTRUCTOR.construct_yaml_float(node)
    except (ValueError, KeyError, yaml.YAMLError):
        raise ValueError(f"{node.value!r} is not a valid {short_tag(tag)[2:]}") from None
