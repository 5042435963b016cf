"""JSON Schema validation of documents, with problems located at the offending node.

The schemas in `schemas/` are the single source of truth for the format. They may carry
`errorMessage` (a string, or a mapping keyword -> message, as ajv-errors and
yaml-language-server read it) where jsonschema's own wording would be obscure.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

import reconciler
from reconciler.errors import Problem
from reconciler.manifests.yamldoc import Document, PathT, dotted

SCHEMA_FILES = ("reconcile.schema.json", "deploymentset.schema.json")


def schema_dir() -> Path:
    """Where the schemas are: inside the installed wheel, else the repository's `schemas/`."""
    packaged = Path(reconciler.__file__).parent / "schemas"
    if (packaged / "deploymentset.schema.json").is_file():
        return packaged
    return Path(reconciler.__file__).parent.parent / "schemas"


@lru_cache(maxsize=8)
def load_schema(name: str) -> dict[str, Any]:
    with open(schema_dir() / name, encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


def _inline(node: Any, name: str) -> Any:
    """The schema with every `$ref` replaced by what it points to (the schemas have no
    recursion): reference lookups were a quarter of validation time on large repositories.
    The schemas refer to each other by file name, as editors resolve them side by side."""
    if isinstance(node, list):
        return [_inline(v, name) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _inline(v, name) for k, v in node.items() if k != "$ref"}
    ref = node.get("$ref")
    if isinstance(ref, str):
        file, _, pointer = ref.partition("#")
        target: Any = load_schema(file or name)
        for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
            target = target[part]
        out = {**_inline(target, file or name), **out}
    return out


@lru_cache(maxsize=8)
def validator(name: str) -> Draft202012Validator:
    schema = _inline(load_schema(name), name)
    schema.pop("$defs", None)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check(doc: Document, schema_name: str, *, skip_keys: Iterable[PathT] = ()) -> list[Problem]:
    """Every schema problem in `doc`; unknown keys listed in `skip_keys` are left out
    (they are reported more helpfully elsewhere)."""
    skip = set(skip_keys)
    problems: dict[tuple[Any, ...], Problem] = {}
    for error in validator(schema_name).iter_errors(doc.data):
        for path, message, at_key in _describe(error):
            if at_key and path in skip:
                continue
            prefix = dotted(path)
            text = f"{prefix}: {message}" if prefix else message
            problems.setdefault((path, text), doc.problem(text, path, key=at_key))
    return sorted(problems.values(), key=lambda p: (p.location.line or 0, p.location.column or 0))


def _custom(error: ValidationError) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("errorMessage")
    if isinstance(custom, str):
        return custom
    if isinstance(custom, dict):
        msg = custom.get(str(error.validator))
        return msg if isinstance(msg, str) else None
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _brief(value: Any) -> str:
    """A short rendering of a value for a message, or "" when it would be long."""
    if isinstance(value, dict | list):
        return ""
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else ""


def _show(value: Any) -> str:
    text = _brief(value)
    return f" ({text})" if text else ""


def _describe(error: ValidationError) -> list[tuple[PathT, str, bool]]:
    """(path, message, located at the key) for one jsonschema error."""
    path: PathT = tuple(error.absolute_path)
    v = str(error.validator)
    custom = _custom(error)
    if "propertyNames" in error.absolute_schema_path:
        key = str(error.instance)
        return [((*path, key), custom or f"{key!r} is not an allowed key here", True)]
    if v == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema if isinstance(error.schema, dict) else {}
        allowed = sorted(schema.get("properties", {}))
        out: list[tuple[PathT, str, bool]] = []
        for key in error.instance:
            if key in allowed:
                continue
            msg = f"unknown key {key!r}"
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                msg += f" (did you mean {close[0]!r}?)"
            elif allowed:
                msg += f"; allowed here: {', '.join(allowed)}"
            out.append(((*path, key), msg, True))
        return out
    if custom:
        return [(path, custom, False)]
    expected: Any = error.validator_value
    got = _brief(error.instance) or _kind(error.instance)
    if v == "required" and isinstance(error.instance, dict):
        names = [n for n in expected if n not in error.instance]
        return [(path, f"missing required key {n!r}", False) for n in names]
    if v == "type":
        wanted = " or ".join(
            _TYPE_NAMES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected)
        )
        return [(path, f"expected {wanted}, got {_kind(error.instance)}{_show(error.instance)}", False)]
    if v == "enum":
        options = ", ".join(str(o) for o in expected)
        return [(path, f"expected one of {options}; got {got}", False)]
    if v == "const":
        return [(path, f"expected {expected!r}, got {got}", False)]
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        return [(path, f"must be {op} {error.validator_value}, got {error.instance}", False)]
    if v == "minItems":
        return [
            (
                path,
                "must not be empty"
                if error.validator_value == 1
                else f"needs at least {error.validator_value} items",
                False,
            )
        ]
    if v == "minLength":
        return [(path, "must not be empty", False)]
    if v == "maxLength":
        return [(path, f"is longer than {error.validator_value} characters", False)]
    if v == "uniqueItems" and isinstance(error.instance, list):
        seen: list[Any] = []
        for i, item in enumerate(error.instance):
            if item in seen:
                return [((*path, i), f"lists {_brief(item) or 'an item'} twice", False)]
            seen.append(item)
    if v == "pattern":
        return [(path, f"{got} does not match {expected}", False)]
    if v in ("anyOf", "oneOf") and error.context:
        return _describe(best_match(error.context))
    return [(path, error.message, False)]
