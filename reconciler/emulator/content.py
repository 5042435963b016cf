"""Config content: parsing by instance format, serializing seed values, and validation
against a jsonschema-language config schema (errors carry JSON paths like `$.safety.x`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, cast

import jsonschema
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


def json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        out += (
            f"[{p}]"
            if isinstance(p, int)
            else (f".{p}" if re.fullmatch(r"[A-Za-z_][\w-]*", str(p)) else f"[{json.dumps(str(p))}]")
        )
    return out


def _validator(document: Any) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(document, default=jsonschema.Draft202012Validator)
    validator: jsonschema.protocols.Validator = cls(document)
    return validator


def check_schema_document(text: str, fmt: str) -> None:
    """A jsonschema-language document must parse and be a JSON Schema (an object or a
    boolean that its metaschema accepts); otherwise every instance check would fail later."""
    document = parse(text, fmt)
    if not isinstance(document, dict | bool):
        raise ContentError(
            "the document is not a JSON Schema (an object or a boolean)",
            [{"path": "$", "message": "not an object or a boolean"}],
        )
    try:
        _validator(document).check_schema(cast(dict[str, Any], document))
    except jsonschema.SchemaError as e:
        path = json_path(e.absolute_path)
        raise ContentError(
            f"the document is not a valid JSON Schema at {path}: {e.message}",
            [{"path": path, "message": e.message}],
        ) from None


def validate(data: str, fmt: str, language: str, documents: list[dict[str, Any]], schema_format: str) -> None:
    """Validate instance text against the schema; raises ContentError listing every failing path.
    Only the jsonschema language is checked (cue and opaque content is accepted as is)."""
    if language != "jsonschema" or fmt not in ("json", "jsonc", "yaml"):
        return
    if not documents:
        return
    instance = parse(data, fmt)
    document = parse(documents[0]["data"], "yaml" if schema_format == "yaml" else "json")
    validator = _validator(document)
    errors: list[dict[str, str]] = []
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        base = list(err.absolute_path)
        if (
            err.validator == "required"
            and isinstance(err.instance, dict)
            and isinstance(err.validator_value, list)
        ):
            for key in err.validator_value:
                if key not in err.instance:
                    errors.append({"path": json_path([*base, key]), "message": f"{key!r} is required"})
            continue
        if (
            err.validator == "additionalProperties"
            and isinstance(err.instance, dict)
            and isinstance(err.schema, dict)
        ):
            allowed = set(err.schema.get("properties", {}))
            for key in err.instance:
                if key not in allowed:
                    errors.append(
                        {
                            "path": json_path([*base, key]),
                            "message": f"additional property {key!r} is not allowed",
                        }
                    )
            continue
        errors.append({"path": json_path(base), "message": err.message})
    if errors:
        paths = ", ".join(e["path"] for e in errors)
        raise ContentError(f"content does not match the config schema at {paths}", errors)
