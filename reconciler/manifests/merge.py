"""JSON merge patch (RFC 7386): how inline `values` and override values apply over a
config file's content. Small enough that a library would add more than it saves."""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 section 2: objects merge key by key, `null` deletes a key, anything
    else (lists included) replaces. Neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
