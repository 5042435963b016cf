"""Config content checked against a jsonschema-language config schema (errors carry JSON paths
like `$.safety.x`), and a schema document checked to be one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, cast

import jsonschema

from reconciler.emulator.content import ContentError, parse


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
