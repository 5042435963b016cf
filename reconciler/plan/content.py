"""Config content: assembly (file, inline values, overrides), canonical form, content
address, and validation against a release's schema. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

import jsonschema
import yaml

from reconciler.errors import Location
from reconciler.manifests.merge import merge_patch
from reconciler.manifests.yamldoc import json_path as _json_path
from reconciler.manifests.yamlload import load_schema_text
from reconciler.model.project import ConfigSpec


def assemble(specs: Sequence[ConfigSpec]) -> Any:
    """The content of one slot: each spec's file content, then its inline values, merged in
    order (the set's spec first, then matching overrides) with JSON merge-patch."""
    content: Any = None
    for spec in specs:
        if spec.base is not None:
            both = isinstance(content, dict) and isinstance(spec.base, dict)
            content = merge_patch(content, spec.base) if both else spec.base
        if spec.values is not None:
            content = merge_patch(content if isinstance(content, dict) else {}, spec.values)
    return content


class ContentError(ValueError):
    """Content that cannot be written in its slot's format."""


def canonical(content: Any, instance_format: str) -> str:
    """The exact bytes (as text) to upload: json with sorted keys, 2-space indent and a
    trailing newline; yaml via safe_dump with sorted keys; text (and xml) as written."""
    if instance_format in ("json", "jsonc"):
        return json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if instance_format == "yaml":
        return str(yaml.safe_dump(content, sort_keys=True, default_flow_style=False, allow_unicode=True))
    if not isinstance(content, str):
        raise ContentError(
            f"a {instance_format} config needs text content (a file or a string), "
            f"not {type(content).__name__}"
        )
    return content


def parse(data: str, instance_format: str) -> Any:
    """Live content back to a value, for diffs. Unparseable content stays text."""
    try:
        if instance_format in ("json", "jsonc"):
            return json.loads(data)
        if instance_format == "yaml":
            return yaml.safe_load(data)
    except (ValueError, yaml.YAMLError):
        return data
    return data


def content_key(config_schema_id: str, slot_key: str, data: str) -> str:
    """The content address of a config instance (the same content for the same schema and slot is one instance)."""
    return hashlib.sha256(f"{config_schema_id}\0{slot_key}\0{data}".encode()).hexdigest()


def json_path(parts: Sequence[str | int]) -> str:
    """`("safety", "lidar_zones", 0)` -> `$.safety.lidar_zones[0]`: the loader's notation, so a
    content path matches the locations the loader recorded for a config file."""
    return _json_path(tuple(parts))


def load_document(data: str) -> Any:
    """A schema document (JSON, or YAML which is a superset). Shared: never modified."""
    return load_schema_text(data)


def validator_for(document: Any) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(document)
    cls.check_schema(document)
    return cls(document)


def first_error(
    validator: jsonschema.protocols.Validator, content: Any
) -> tuple[str, list[str | int]] | None:
    """The most relevant validation error (jsonschema's `best_match`) as (message, path)."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(content))
    if error is None:
        return None
    return error.message, list(error.absolute_path)


def all_errors(validator: jsonschema.protocols.Validator, content: Any) -> list[tuple[str, list[str | int]]]:
    """Every validation error as (message, path), in path order. A key the schema does not
    allow is reported at that key (jsonschema puts it at the object holding it)."""
    out: dict[tuple[str, str], tuple[str, list[str | int]]] = {}
    for error in validator.iter_errors(content):
        path: list[str | int] = list(error.absolute_path)
        found: list[tuple[str, list[str | int]]] = [
            (f"{key!r} is not allowed here", [*path, key]) for key in _unexpected_keys(error)
        ] or [(error.message, path)]
        for message, at in found:
            out.setdefault((json_path(at), message), (message, at))
    return [out[k] for k in sorted(out)]


def _unexpected_keys(error: jsonschema.exceptions.ValidationError) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = set(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    return sorted(
        k
        for k in error.instance
        if isinstance(k, str) and k not in known and not any(re.search(p, k) for p in patterns)
    )


def locate(parts: Sequence[str | int], specs: Sequence[ConfigSpec]) -> Location | None:
    """Where in the manifests the value at `parts` comes from: the last spec whose inline
    values set it (the spec's own line), else a file that holds it (its line in that file),
    else the first spec's declaration. An object or list that an override only added keys to
    is not the override's: the error about it goes to the file (or spec) that holds it."""
    for spec in reversed(specs):
        if spec.values is not None and _has(spec.values, parts) and _sets(spec.values, parts, specs):
            return spec.location
        if spec.base is not None and _has(spec.base, parts):
            for n in range(len(parts), -1, -1):
                loc = spec.file_locations.get(json_path(parts[:n]))
                if loc is not None:
                    return loc
            return Location(spec.file) if spec.file else spec.location
    return next((s.location for s in specs if s.location is not None), None)


def _sets(values: Any, parts: Sequence[str | int], specs: Sequence[ConfigSpec]) -> bool:
    """Whether inline `values` set the value at `parts` itself: a scalar, or a container no
    file or earlier spec holds (merged containers belong to whoever wrote them first)."""
    value = _at(values, parts)
    if not isinstance(value, (dict, list)):
        return True
    return not any(
        (s.base is not None and _has(s.base, parts))
        or (s.values is not None and s.values is not values and _has(s.values, parts))
        for s in specs
    )


def _at(value: Any, parts: Sequence[str | int]) -> Any:
    for part in parts:
        value = value[part]
    return value


def _has(value: Any, parts: Sequence[str | int]) -> bool:
    for part in parts:
        in_dict = isinstance(value, dict) and part in value
        in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        if in_dict or in_list:
            value = value[part]
        else:
            return False
    return True
