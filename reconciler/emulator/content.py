"""Config content: parsing by instance format and serializing seed values (validation against a
config schema is in `content_checks`)."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

# Line and block comments outside strings, for jsonc.
_JSONC_COMMENTS = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)


class ContentError(ValueError):
    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.errors = errors


def parse(data: str, fmt: str) -> Any:
    """Parse instance or schema-document text. Raises ContentError when it is malformed."""
    try:
        if fmt == "json":
            return json.loads(data)
        if fmt == "jsonc":
            return json.loads(_JSONC_COMMENTS.sub(lambda m: m.group(1) or "", data))
        if fmt == "yaml":
            return yaml.safe_load(data)
    except (ValueError, yaml.YAMLError) as e:
        raise ContentError(
            f"content is not valid {fmt}: {e}", [{"path": "$", "message": f"not valid {fmt}: {e}"}]
        ) from None
    raise ContentError(f"format {fmt} cannot be parsed", [{"path": "$", "message": "unparseable format"}])


def serialize(value: Any, fmt: str) -> str:
    """Seed values -> instance text in the schema's instance format."""
    if isinstance(value, str) and fmt not in ("json", "jsonc"):
        return value
    if fmt in ("json", "jsonc"):
        return json.dumps(value, indent=2) + "\n"
    if fmt == "yaml":
        return str(yaml.safe_dump(value, sort_keys=False))
    return str(value)
