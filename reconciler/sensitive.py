"""Secrets: credentials read from the environment, and secret fields inside config content.

A credential goes into an HTTP header, which carries visible ASCII only: a key with other
characters or surrounding whitespace (a newline from `echo` or a file) is a clear error
naming the variable, never echoing the key.

A config field is secret when its schema says so (`writeOnly: true`, or
`x-reconcile-secret: true`) or when its name looks like one (`*token*`, `*password*`,
`*secret*`, `*api_key*`, ...) and the schema does not say `x-reconcile-secret: false`.
Secret values appear in no output: diffs say `api_token: (secret changed)`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from reconciler.errors import ReconcileError, remember_secret
from reconciler.manifests.yamlload import load_schema_text
from reconciler.model.live import LiveState

SECRET_KEYWORD = "x-reconcile-secret"
_SECRET_NAME = re.compile(r"(?i)(token|passw(or)?d|passphrase|secret|api[_-]?key|private[_-]?key|credential)")
SHOWN = "(secret)"


def checked_credential(name: str, value: str) -> str:
    """`value` of environment variable `name` if an HTTP header can carry it as it is."""
    if value != value.strip():
        problem = "starts or ends with whitespace (a trailing newline from `echo` or a file?)"
    elif any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        problem = "has a control character"
    elif any(ord(c) > 0x7F for c in value):
        problem = "has a non-ASCII character"
    else:
        return value
    raise ReconcileError(
        f"{name} {problem}: an HTTP header cannot carry it, so the key cannot be sent",
        hint=f"set {name} to the key exactly as the platform shows it (printable ASCII, nothing around it)",
    )


def secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


class SecretFields:
    """Which fields of one config schema's content are secret (a JSON Schema document, or
    None when there is none: names alone decide then)."""

    def __init__(self, schema: Any = None):
        self._schema = schema if isinstance(schema, Mapping) else None

    def _sub(self, schema: Mapping[str, Any] | None, key: str | int) -> Mapping[str, Any] | None:
        if schema is None:
            return None
        if isinstance(key, int):
            items = schema.get("items")
            if isinstance(items, Mapping):
                return dict(items)
            prefix = schema.get("prefixItems")
            if isinstance(prefix, list) and 0 <= key < len(prefix) and isinstance(prefix[key], Mapping):
                return dict(prefix[key])
            return None
        props = schema.get("properties")
        if isinstance(props, Mapping) and isinstance(props.get(key), Mapping):
            return dict(props[key])
        for pattern, sub in (schema.get("patternProperties") or {}).items():
            try:
                if isinstance(sub, Mapping) and re.search(pattern, key):
                    return dict(sub)
            except re.error:
                continue
        extra = schema.get("additionalProperties")
        return dict(extra) if isinstance(extra, Mapping) else None

    def _at(self, path: tuple[str | int, ...]) -> tuple[bool, Mapping[str, Any] | None]:
        """(secret?, the subschema) of the field at `path`; a secret object's fields are secret."""
        schema = self._schema
        for key in path:
            schema = self._sub(schema, key)
            marked = schema.get(SECRET_KEYWORD) if schema is not None else None
            if marked is False:
                continue
            if marked is True or (schema is not None and schema.get("writeOnly") is True):
                return True, schema
            if isinstance(key, str) and secret_name(key):
                return True, schema
        return False, schema

    def is_secret(self, path: tuple[str | int, ...]) -> bool:
        return self._at(path)[0]

    def mask(self, value: Any, path: tuple[str | int, ...] = ()) -> Any:
        """`value` (found at `path`) with every secret field inside it replaced by `(secret)`."""
        if path and self.is_secret(path):
            return SHOWN
        if isinstance(value, dict):
            return {k: self.mask(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask(v, (*path, i)) for i, v in enumerate(value)]
        return value

    def has_secrets(self, value: Any, path: tuple[str | int, ...] = ()) -> bool:
        return bool(self.mask(value, path) != value)

    def leaves(self, value: Any, path: tuple[str | int, ...] = ()) -> list[Any]:
        """The secret values inside `value` (whole subtrees where a field is secret); each
        string among them is remembered, so `errors.redact` hides it wherever it shows up."""
        if path and self.is_secret(path):
            _remember(value)
            return [value]
        if isinstance(value, dict):
            return [x for k, v in value.items() for x in self.leaves(v, (*path, k))]
        if isinstance(value, list):
            return [x for i, v in enumerate(value) for x in self.leaves(v, (*path, i))]
        return []

    def scrub(self, message: str, content: Any, path: tuple[str | int, ...]) -> str:
        """A validation message about `content` with no secret value in it: about a secret
        field, a message without the value; elsewhere, every secret value in it replaced
        (messages quote the instance, e.g. `{...} is not valid under any of the given schemas`)."""
        if path and self.is_secret(path):
            return "a secret value does not match its schema (the value is not shown)"
        for secret in self.leaves(content):
            for form in _forms(secret):
                if len(form) >= 3:
                    message = message.replace(form, SHOWN)
        return message


def _remember(value: Any) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _remember(v)
    elif isinstance(value, list):
        for v in value:
            _remember(v)
    else:
        remember_secret(value)


def _forms(value: Any) -> set[str]:
    """How a value may be spelled in a message: repr (jsonschema), JSON, plain."""
    if isinstance(value, (dict, list)):
        inner = [f for v in (value.values() if isinstance(value, dict) else value) for f in _forms(v)]
        return {repr(value), json.dumps(value, ensure_ascii=False), *inner}
    return {repr(value), json.dumps(value, ensure_ascii=False), str(value)}


def fields_of(document: Any) -> SecretFields:
    """The secret fields of content under a JSON Schema document (text, JSON or YAML), or of
    names alone when the document is missing or unreadable."""
    return _fields_of_text(document) if isinstance(document, str) else SecretFields(document)


@functools.lru_cache(maxsize=256)
def _fields_of_text(text: str) -> SecretFields:
    try:
        return SecretFields(load_schema_text(text))  # (parsed once for validation too)
    except yaml.YAMLError:
        return SecretFields(None)


def secret_fields(live: LiveState | None, schema_id: str | None) -> SecretFields:
    """The secret fields of content under a live config schema (names alone without one)."""
    schema = live.schemas.get(schema_id) if live is not None and schema_id else None
    if schema is None or schema.language != "jsonschema" or not schema.documents:
        return SecretFields(None)
    return fields_of(schema.documents[0][1])
