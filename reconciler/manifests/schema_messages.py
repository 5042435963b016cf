"""Schema errors in words a manifest author reads: the schema's own `errorMessage` where it has
one, unknown keys with the nearest allowed key, values described by kind."""

from __future__ import annotations

import difflib
import json
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from reconciler.manifests.yamldoc import PathT


def _custom(error: ValidationError) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("errorMessage")
    if isinstance(custom, str):
        return custom
    if isinstance(custom, dict):
        msg = custom.get(str(error.validator))
        return msg if isinstance(msg, str) else None
    return None


def kind(value: Any) -> str:
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


def describe(error: ValidationError) -> list[tuple[PathT, str, bool]]:
    """(path, message, located at the key) for one jsonschema error."""
    path: PathT = tuple(error.absolute_path)
    v = str(error.validator)
    custom = _custom(error)
    if "propertyNames" in error.absolute_schema_path:
        key = str(error.instance)
        return [((*path, key), custom or f"{key!r} is not an allowed key here", True)]
    if v == "additionalProperties" and isinstance(error.instance, dict):
        return _unknown_keys(error, path)
    if custom:
        return [(path, custom, False)]
    found = _value_problem(error, v, path)
    if found is not None:
        return found
    if v in ("anyOf", "oneOf") and error.context:
        return describe(best_match(error.context))
    return [(path, error.message, False)]


def _unknown_keys(error: ValidationError, path: PathT) -> list[tuple[PathT, str, bool]]:
    """Each key the schema does not allow here, with the nearest allowed one (a typo) or the list."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    allowed = sorted(schema.get("properties", {}))
    out: list[tuple[PathT, str, bool]] = []
    for key in error.instance if isinstance(error.instance, dict) else ():
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


def _value_problem(error: ValidationError, v: str, path: PathT) -> list[tuple[PathT, str, bool]] | None:
    """The message for a value the keyword `v` refuses; None when it has no wording of its own."""
    expected: Any = error.validator_value
    got = _brief(error.instance) or kind(error.instance)
    if v == "required" and isinstance(error.instance, dict):
        names = [n for n in expected if n not in error.instance]
        return [(path, f"missing required key {n!r}", False) for n in names]
    if v == "type":
        wanted = " or ".join(
            _TYPE_NAMES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected)
        )
        return [(path, f"expected {wanted}, got {kind(error.instance)}{_show(error.instance)}", False)]
    if v == "enum":
        options = ", ".join(str(o) for o in expected)
        return [(path, f"expected one of {options}; got {got}", False)]
    if v == "const":
        return [(path, f"expected {expected!r}, got {got}", False)]
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        return [(path, f"must be {op} {error.validator_value}, got {error.instance}", False)]
    if v == "minItems":
        n = error.validator_value
        return [(path, "must not be empty" if n == 1 else f"needs at least {n} items", False)]
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
    return None
