"""JSON Schema validation of documents, with problems located at the offending node (their
wording is in `schema_messages`).

The schemas in `schemas/` are the single source of truth for the format. They may carry
`errorMessage` (a string, or a mapping keyword -> message, as ajv-errors and
yaml-language-server read it) where jsonschema's own wording would be obscure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

import reconciler
from reconciler.errors import Problem
from reconciler.manifests.schema_messages import describe
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


def inlined(name: str) -> dict[str, Any]:
    """The schema `name` with every `$ref` replaced (`_inline`) and its `$defs` dropped."""
    schema: dict[str, Any] = _inline(load_schema(name), name)
    schema.pop("$defs", None)
    return schema


@lru_cache(maxsize=8)
def validator(name: str) -> Draft202012Validator:
    # Our own files: that they are valid 2020-12 schemas, inlined too, is checked by a test
    # (tests/manifests/test_schemas.py), not again on every run.
    return Draft202012Validator(inlined(name))


def check(doc: Document, schema_name: str, *, skip_keys: Iterable[PathT] = ()) -> list[Problem]:
    """Every schema problem in `doc`; unknown keys listed in `skip_keys` are left out
    (they are reported more helpfully elsewhere)."""
    skip = set(skip_keys)
    problems: dict[tuple[Any, ...], Problem] = {}
    for error in validator(schema_name).iter_errors(doc.data):
        for path, message, at_key in describe(error):
            if at_key and path in skip:
                continue
            prefix = dotted(path)
            text = f"{prefix}: {message}" if prefix else message
            problems.setdefault((path, text), doc.problem(text, path, key=at_key))
    return sorted(problems.values(), key=lambda p: (p.location.line or 0, p.location.column or 0))
