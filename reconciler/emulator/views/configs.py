"""Config types, config schemas (documents and type expandable) and config instances (content,
schema and type expandable)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

from reconciler.emulator.times import formatter
from reconciler.emulator.views.common import Row, by_id, sub


def config_type(row: Row) -> dict[str, Any]:
    iso = formatter()
    return {
        "object": "config_type",
        "id": row["id"],
        "name": row["name"],
        "slug": row["slug"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def config_types(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    return [config_type(r) for r in rows]


def config_schemas(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    iso = formatter()
    types = by_id(conn, "config_types", (r["config_type_id"] for r in rows))
    out = []
    for r in rows:
        t = types[r["config_type_id"]]
        body: dict[str, Any] = {
            "object": "config_schema",
            "id": r["id"],
            "digest": r["digest"],
            "config_type_name": t["name"],
            "instance_slots": json.loads(r["slots"]),
            "instance_format": r["instance_format"],
            "created_at": iso(r["created_at"]),
            "updated_at": iso(r["updated_at"]),
            "config_type_id": r["config_type_id"],
            "language": r["language"],
            "format": r["format"],
        }
        if "documents" in expand:
            body["documents"] = json.loads(r["documents"])
        if "config_type" in expand:
            body["config_type"] = config_type(t)
        out.append(body)
    return out


def config_instances(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    iso = formatter()
    types = by_id(conn, "config_types", (r["config_type_id"] for r in rows))
    schemas: dict[str, dict[str, Any]] = {}
    if "config_schema" in expand:
        schema_rows = by_id(conn, "config_schemas", (r["config_schema_id"] for r in rows))
        rendered = config_schemas(conn, list(schema_rows.values()), sub(expand, "config_schema"))
        schemas = {s["id"]: s for s in rendered}
    out = []
    for r in rows:
        t = types[r["config_type_id"]]
        body: dict[str, Any] = {
            "object": "config_instance",
            "id": r["id"],
            "config_type_name": t["name"],
            "filepath": r["filepath"],
            "slot_key": r["slot_key"],
            "created_at": iso(r["created_at"]),
            "config_schema_id": r["config_schema_id"],
            "config_type_id": r["config_type_id"],
        }
        if "config_schema" in expand:
            body["config_schema"] = schemas[r["config_schema_id"]]
        if "config_type" in expand:
            body["config_type"] = config_type(t)
        if "content" in expand:
            body["content"] = {"format": r["format"], "data": r["data"]}
        out.append(body)
    return out
