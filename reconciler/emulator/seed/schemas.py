"""The seed's config schemas: their documents (inline, as files or as data) and the ids they get,
by id and by `<config type slug>@<version>`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator.routes_config_schemas import create_schema
from reconciler.emulator.seed.errors import SeedError, entry


def _document_text(spec: Mapping[str, Any], fmt: str, base: Path, where: str) -> list[dict[str, Any]]:
    if "documents" in spec:
        return [{"name": d.get("name") or f"schema.{fmt}", "data": d["data"]} for d in spec["documents"]]
    if "document_file" in spec:
        path = (base / spec["document_file"]).resolve()
        try:
            return [{"name": path.name, "data": path.read_text()}]
        except OSError as e:
            raise SeedError(f"{where}.document_file: cannot read {path}: {e.strerror}") from None
    if "document" in spec:
        doc = spec["document"]
        text = (
            doc
            if isinstance(doc, str)
            else (
                str(yaml.safe_dump(doc, sort_keys=False))
                if fmt == "yaml"
                else json.dumps(doc, indent=2) + "\n"
            )
        )
        return [{"name": f"{spec['config_type']}.{spec.get('version', 'schema')}.{fmt}", "data": text}]
    return []


def schemas(
    conn: sqlite3.Connection,
    entries: list[dict[str, Any]],
    types: dict[str, sqlite3.Row],
    at: float,
    base: Path,
) -> dict[str, str]:
    out: dict[str, str] = {}
    for row in conn.execute(
        "SELECT s.id, s.label, t.slug FROM config_schemas s JOIN config_types t ON t.id = s.config_type_id"
    ):
        out[row["id"]] = row["id"]
        if row["label"]:
            out[f"{row['slug']}@{row['label']}"] = row["id"]
    for i, s in enumerate(entries):
        where = f"config_schemas[{i}]"
        if s["config_type"] not in types:
            raise SeedError(f"{where}.config_type: unknown config type {s['config_type']!r}")
        fmt = s.get("format") or "json"
        label = str(s.get("version") or f"s{i}")
        with entry("config_schemas", i):
            row = create_schema(
                conn,
                types[s["config_type"]],
                language=s.get("language", "jsonschema"),
                fmt=fmt,
                instance_format=s.get("instance_format"),
                slots=s.get("slots"),
                documents=_document_text(s, fmt, base, where),
                at=at,
                label=label,
                strict=False,
            )
        if s.get("id"):
            # A fixed id makes seeds reproducible (tests refer to schemas by id).
            conn.execute("UPDATE config_schemas SET id = ? WHERE id = ?", (s["id"], row["id"]))
            out[s["id"]] = s["id"]
            out[f"{s['config_type']}@{label}"] = s["id"]
        else:
            out[f"{s['config_type']}@{label}"] = row["id"]
    return out
