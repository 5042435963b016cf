"""Config schemas: a language, formats, instance slots and documents, deduplicated by digest
within their config type."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import invalid
from reconciler.emulator.fields import opt_str, req_str
from reconciler.emulator.http import Ctx
from reconciler.emulator.ids import new_id
from reconciler.emulator.resources import Resource
from reconciler.emulator.routes_config_types import resolve_type_ref
from reconciler.emulator.schema_documents import check_formats, schema_digest, schema_documents
from reconciler.emulator.schema_slots import normalize_slots
from reconciler.emulator.store import write

CONFIG_SCHEMAS = Resource(
    "config_schemas",
    "config schema",
    "config_schema_id",
    views.config_schemas,
    filters=("id", "config_type_id"),
)


def create_schema(
    conn: sqlite3.Connection,
    type_row: sqlite3.Row,
    *,
    language: str,
    fmt: str,
    instance_format: str | None,
    slots: Any,
    documents: list[dict[str, Any]],
    at: float,
    label: str | None = None,
    strict: bool = True,
) -> sqlite3.Row:
    """Create a config schema, or return the existing one with the same digest for the type."""
    instance_format = check_formats(language, fmt, instance_format)
    norm_slots = normalize_slots(slots, type_row["slug"], fmt, strict=strict)
    docs = schema_documents(language, fmt, documents)
    digest = schema_digest(language, fmt, instance_format, norm_slots, docs)
    existing: sqlite3.Row | None = conn.execute(
        "SELECT * FROM config_schemas WHERE config_type_id = ? AND digest = ?", (type_row["id"], digest)
    ).fetchone()
    if existing is not None:
        return existing  # dedup by digest: the same schema is never stored twice
    schema_id = new_id("cfg_sch")
    stored_docs = [{"id": new_id("cfg_sch_doc"), **d} for d in docs]
    kind = (language, fmt, instance_format)
    stored = (json.dumps(norm_slots), json.dumps(stored_docs))
    conn.execute(
        "INSERT INTO config_schemas VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (schema_id, type_row["id"], digest, *kind, *stored, label, at, at),
    )
    return CONFIG_SCHEMAS.row(conn, schema_id)


def create_config_schema(ctx: Ctx) -> Response:
    expand = CONFIG_SCHEMAS.expansions(ctx)
    body = ctx.obj()
    documents = body.get("documents")
    if not isinstance(documents, list):
        raise invalid("documents is required and must be a list", field="documents")
    with write(ctx.conn):
        type_row = resolve_type_ref(ctx.conn, body.get("config_type_ref"))
        row = create_schema(
            ctx.conn,
            type_row,
            language=req_str(body, "language"),
            fmt=req_str(body, "format"),
            instance_format=opt_str(body, "instance_format"),
            slots=body.get("instance_slots"),
            documents=documents,
            at=ctx.now,
        )
    return CONFIG_SCHEMAS.one(ctx, row, expand)


routes = [
    Route("/config_schemas", api("config_schemas", CONFIG_SCHEMAS.list), methods=["GET"]),
    Route("/config_schemas", api("config_schemas", create_config_schema), methods=["POST"]),
    Route("/config_schemas/{config_schema_id}", api("config_schemas", CONFIG_SCHEMAS.get), methods=["GET"]),
]
