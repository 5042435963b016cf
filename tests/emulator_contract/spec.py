"""The everglades spec as a response validator (read from MIRU_API_DIR, never copied here).

`ValidatingTransport` wraps any httpx transport (ASGI or real HTTP), matches each request
to its spec operation and checks the response body: 2xx against the operation's response
schema, errors against the platform's error envelope (the spec publishes no error schema;
the envelope is `{"error": {"code", "message", "params"}}`). Problems are collected, not
raised, so one test can assert "no problems" after a whole scenario.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_GLOB = "platform-api-*.everglades.yaml"
METHODS = ("get", "post", "put", "patch", "delete")
SPEC_URI = "urn:miru-spec"

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "params"],
            "properties": {
                "code": {"type": "string", "minLength": 1},
                "message": {"type": "string", "minLength": 1},
                "params": {"type": "object"},
            },
        }
    },
}


def spec_dir() -> Path:
    raw = Path(os.environ.get("MIRU_API_DIR", "../shared/miru-api/"))
    return raw if raw.is_absolute() else (REPO_ROOT / raw).resolve()


def load_spec_or_skip() -> dict[str, Any]:
    directory = spec_dir()
    found = sorted(directory.glob(SPEC_GLOB)) if directory.is_dir() else []
    if not found:
        pytest.skip(
            f"the everglades OpenAPI spec ({SPEC_GLOB}) is not in {directory}; "
            "set MIRU_API_DIR to the directory holding the official Miru API specs"
        )
    with found[-1].open() as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


def openapi30_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects -> JSON Schema 2020-12: `nullable: true` becomes a null
    alternative (a `type` list when there is a plain type, `anyOf` around `$ref`/`allOf`),
    and enums admit null when nullable."""
    if isinstance(node, list):
        return [openapi30_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi30_to_jsonschema(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str) and not any(k in out for k in ("allOf", "anyOf", "oneOf")):
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    # OpenAPI keywords JSON Schema does not know are harmless, except `example`
    # (ignored) and `discriminator` (ignored); formats are not asserted.
    return out


@dataclass
class Operation:
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    schema_pointer: str | None  # JSON pointer into the spec for the 200 JSON body
    binary: bool


@dataclass
class Spec:
    raw: dict[str, Any]
    operations: list[Operation]
    registry: Registry[Any]
    converted: dict[str, Any]
    base_path: str = "/beta"
    validators: dict[str, Draft202012Validator] = field(default_factory=dict)

    def match(self, method: str, path: str) -> Operation | None:
        if not path.startswith(self.base_path):
            return None
        rest = path[len(self.base_path) :]
        for op in self.operations:
            if op.method == method.lower() and op.pattern.fullmatch(rest):
                return op
        return None

    def validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self.validators:
            self.validators[pointer] = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry
            )
        return self.validators[pointer]

    def problems(self, op: Operation, status: int, body: bytes) -> list[str]:
        where = f"{op.method.upper()} {op.template} -> {status}"
        if 200 <= status < 300 and op.binary:
            return []
        try:
            data = json.loads(body)
        except ValueError:
            return [f"{where}: body is not JSON: {body[:200]!r}"]
        if 200 <= status < 300:
            if op.schema_pointer is None:
                return [f"{where}: the spec declares no JSON body for this operation"]
            validator = self.validator(op.schema_pointer)
        else:
            validator = Draft202012Validator(ERROR_ENVELOPE)
        problems = [
            f"{where}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(data)
        ]
        if not problems and 200 <= status < 300 and op.schema_pointer is not None:
            # The spec's objects do not forbid extra fields, but the real platform sends none:
            # a field the spec does not name is an emulator leak (e.g. admin-only state).
            problems += [
                f"{where}: {path}: field not in the spec"
                for path in self.unknown_fields(self.resolve(op.schema_pointer), data, "")
            ]
        return problems

    def resolve(self, pointer: str) -> Any:
        node: Any = self.converted
        for token in pointer.strip("/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def _deref(self, schema: Any) -> Any:
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self.resolve(schema["$ref"].split("#", 1)[1])
        return schema

    def _object_parts(self, schema: Any, value: Any) -> tuple[dict[str, Any], Any]:
        """(properties, additionalProperties) of an object schema, through $ref, allOf and
        the anyOf/oneOf branch that fits a non-null value."""
        schema = self._deref(schema)
        props: dict[str, Any] = {}
        additional: Any = None
        if not isinstance(schema, dict):
            return props, additional
        props.update(schema.get("properties", {}))
        additional = schema.get("additionalProperties")
        for sub in schema.get("allOf", []):
            sub_props, sub_additional = self._object_parts(sub, value)
            props.update(sub_props)
            additional = additional if additional is not None else sub_additional
        for key in ("anyOf", "oneOf"):
            for sub in schema.get(key, []):
                resolved = self._deref(sub)
                if isinstance(resolved, dict) and resolved.get("type") == "null":
                    continue
                if Draft202012Validator(sub, registry=self.registry).is_valid(value):
                    sub_props, sub_additional = self._object_parts(sub, value)
                    props.update(sub_props)
                    additional = additional if additional is not None else sub_additional
                    break
        return props, additional

    def unknown_fields(self, schema: Any, value: Any, path: str) -> list[str]:
        out: list[str] = []
        if isinstance(value, dict):
            props, additional = self._object_parts(schema, value)
            for name, item in value.items():
                if name in props:
                    out += self.unknown_fields(props[name], item, f"{path}/{name}")
                elif isinstance(additional, dict):
                    out += self.unknown_fields(additional, item, f"{path}/{name}")
                elif additional is not True:
                    out.append(f"{path}/{name}")
        elif isinstance(value, list):
            items = self._items(schema, value)
            if items is not None:
                for i, item in enumerate(value):
                    out += self.unknown_fields(items, item, f"{path}/{i}")
        return out

    def _items(self, schema: Any, value: Any) -> Any:
        schema = self._deref(schema)
        if not isinstance(schema, dict):
            return None
        if "items" in schema:
            return schema["items"]
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                found = self._items(sub, value)
                if found is not None:
                    return found
        return None


def _absolute_refs(node: Any) -> Any:
    """`#/components/...` -> `urn:miru-spec#/components/...`, so any subschema can be
    validated on its own against the registry."""
    if isinstance(node, list):
        return [_absolute_refs(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _absolute_refs(v) for k, v in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        out["$ref"] = SPEC_URI + ref
    return out


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def load_spec() -> Spec:
    raw = load_spec_or_skip()
    converted = _absolute_refs(openapi30_to_jsonschema(copy.deepcopy(raw)))
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(converted, default_specification=DRAFT202012)
    )
    operations: list[Operation] = []
    for template, item in raw["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            content = op["responses"].get("200", {}).get("content", {})
            pointer = None
            if "application/json" in content:
                pointer = (
                    f"/paths/{_escape(template)}/{method}/responses/200/content/"
                    f"{_escape('application/json')}/schema"
                )
            regex = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
            operations.append(
                Operation(
                    op["operationId"],
                    method,
                    template,
                    re.compile(regex),
                    pointer,
                    binary="application/json" not in content,
                )
            )
    server = raw.get("servers", [{}])[0].get("url", "/beta")
    base_path = "/" + server.split("://", 1)[-1].split("/", 1)[-1] if "://" in server else server
    return Spec(raw, operations, registry, converted, base_path=base_path)


@dataclass
class Record:
    method: str
    path: str
    status: int
    operation_id: str | None


class ValidatingTransport(httpx.AsyncBaseTransport):
    """Passes requests to `inner` and checks every /beta response against the spec."""

    def __init__(self, inner: httpx.AsyncBaseTransport, spec: Spec):
        self.inner = inner
        self.spec = spec
        self.problems: list[str] = []
        self.records: list[Record] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        op = self.spec.match(request.method, request.url.path)
        if op is None and request.url.path.startswith(self.spec.base_path):
            self.problems.append(f"{request.method} {request.url.path}: no such operation in the spec")
        if op is not None:
            self.problems.extend(self.spec.problems(op, response.status_code, body))
        self.records.append(
            Record(request.method, request.url.path, response.status_code, op.operation_id if op else None)
        )
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=body,
            request=request,
            extensions=response.extensions,
        )

    def covered(self, *, ok_only: bool = True) -> set[str]:
        return {
            r.operation_id for r in self.records if r.operation_id and (not ok_only or 200 <= r.status < 300)
        }

    async def aclose(self) -> None:
        await self.inner.aclose()
