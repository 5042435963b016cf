"""A config schema's language, formats and documents as the API checks them, and its digest, which
ignores the documents' formatting (the same schema is stored once per config type)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reconciler.emulator import content, content_checks
from reconciler.emulator.errors import invalid, unprocessable


def schema_digest(
    language: str,
    fmt: str,
    instance_format: str,
    slots: list[dict[str, Any]],
    documents: list[dict[str, Any]],
) -> str:
    canonical = json.dumps(
        {
            "language": language,
            "format": fmt,
            "instance_format": instance_format,
            "instance_slots": slots,
            "documents": [
                {"name": d["name"], "data": _canonical(d["data"], language, fmt)} for d in documents
            ],
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _canonical(data: str, language: str, fmt: str) -> Any:
    """A JSON Schema document as the value it parses to, so the digest ignores formatting
    (whitespace, key order, JSON vs YAML spelling); other languages' text as written."""
    if language != "jsonschema":
        return data
    try:
        return content.parse(data, "yaml" if fmt == "yaml" else "json")
    except content.ContentError:
        return data


LANGUAGES = ("jsonschema", "cue", "opaque")
SCHEMA_FORMATS = ("json", "yaml", "cue")
INSTANCE_FORMATS = ("json", "yaml", "jsonc", "xml", "text")


def check_formats(language: str, fmt: str, instance_format: str | None) -> str:
    """422 for an unknown language or format; the instance format, by default the schema's."""
    if language not in LANGUAGES:
        raise unprocessable(f"unknown language {language!r}", field="language", allowed=list(LANGUAGES))
    if fmt not in SCHEMA_FORMATS:
        raise unprocessable(f"unknown format {fmt!r}", field="format", allowed=list(SCHEMA_FORMATS))
    instance_format = instance_format or {"yaml": "yaml"}.get(fmt, "json")
    if instance_format not in INSTANCE_FORMATS:
        raise unprocessable(
            f"unknown instance_format {instance_format!r}",
            field="instance_format",
            allowed=list(INSTANCE_FORMATS),
        )
    return instance_format


def schema_documents(language: str, fmt: str, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents as stored (name and data); a JSON Schema must parse as one (422)."""
    docs = []
    for i, doc in enumerate(documents):
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), str):
            raise invalid(f"documents[{i}] needs name and data strings", field=f"documents[{i}]")
        if language == "jsonschema":
            try:
                content_checks.check_schema_document(doc["data"], "yaml" if fmt == "yaml" else "json")
            except content.ContentError as e:
                raise unprocessable(f"documents[{i}]: {e}", field=f"documents[{i}].data") from None
        docs.append({"name": str(doc.get("name") or f"schema.{fmt}"), "data": doc["data"]})
    if language == "jsonschema" and not docs:
        raise unprocessable("a jsonschema config schema needs at least one document", field="documents")
    return docs
