"""Config types (immutable slug), config schemas (digest dedup) and config instances
(immutable, content validated against their schema)."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import content, views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import conflict, invalid, not_found, unprocessable
from reconciler.emulator.fields import opt_str, req_str
from reconciler.emulator.http import Ctx
from reconciler.emulator.resources import Resource
from reconciler.emulator.store import new_id, write

LANGUAGES = ("jsonschema", "cue", "opaque")
SCHEMA_FORMATS = ("json", "yaml", "cue")
INSTANCE_FORMATS = ("json", "yaml", "jsonc", "xml", "text")
SLOT_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
EXTENSIONS = {"json": "json", "yaml": "yaml", "jsonc": "jsonc", "xml": "xml", "text": "txt"}
CONFIG_TYPES = Resource(
    "config_types", "config type", "config_type_id", views.config_types, filters=("id", "name", "slug")
)
CONFIG_SCHEMAS = Resource(
    "config_schemas",
    "config schema",
    "config_schema_id",
    views.config_schemas,
    filters=("id", "config_type_id"),
)
CONFIG_INSTANCES = Resource(
    "config_instances",
    "config instance",
    "config_instance_id",
    views.config_instances,
    filters=("id", "config_schema_id", "config_type_id", "slot_key"),
)


# --- config types ----------------------------------------------------------------------------


def create_type(conn: sqlite3.Connection, name: str, slug: str, at: float) -> sqlite3.Row:
    if conn.execute("SELECT 1 FROM config_types WHERE slug = ?", (slug,)).fetchone():
        raise conflict(f"a config type with slug {slug!r} already exists", code="slug_taken", slug=slug)
    type_id = new_id("cfg_typ")
    conn.execute("INSERT INTO config_types VALUES (?, ?, ?, ?, ?)", (type_id, name, slug, at, at))
    return CONFIG_TYPES.row(conn, type_id)


def create_config_type(ctx: Ctx) -> Response:
    expand = CONFIG_TYPES.expansions(ctx)
    body = ctx.obj()
    with write(ctx.conn):
        row = create_type(ctx.conn, req_str(body, "name"), req_str(body, "slug"), ctx.now)
    return CONFIG_TYPES.one(ctx, row, expand)


def update_config_type(ctx: Ctx) -> Response:
    if "slug" in ctx.obj():
        raise unprocessable("a config type's slug is immutable", code="immutable_field", field="slug")
    return CONFIG_TYPES.rename(ctx)


# --- config schemas --------------------------------------------------------------------------


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


def normalize_slots(raw: Any, slug: str, schema_format: str, *, strict: bool) -> list[dict[str, Any]]:
    """The schema's slots. Omitted: one required `default` slot at
    /srv/miru/configs/<slug>.<json|yaml>. `strict` (the API) needs every slot field; seeds
    may leave out name (the key), filepath (the default path) and required (true)."""
    ext = "yaml" if schema_format == "yaml" else "json"
    if raw is None:
        return [
            {
                "key": "default",
                "name": "Default",
                "filepath": f"/srv/miru/configs/{slug}.{ext}",
                "required": True,
            }
        ]
    if not isinstance(raw, list) or not raw:
        raise invalid("instance_slots must be a non-empty list", field="instance_slots")
    slots: list[dict[str, Any]] = []
    for i, slot in enumerate(raw):
        where = f"instance_slots[{i}]"
        if not isinstance(slot, dict) or not isinstance(slot.get("key"), str):
            raise invalid(f"{where} needs a string key", field=f"{where}.key")
        if strict:
            missing = [f for f in ("name", "filepath", "required") if f not in slot]
            if missing:
                raise invalid(f"{where} needs {', '.join(missing)}", field=f"{where}.{missing[0]}")
        key = slot["key"]
        if not SLOT_KEY.match(key) or len(key) > 128:
            raise unprocessable(
                f"slot key {key!r} must match ^[a-z0-9][a-z0-9_-]*$ (at most 128 chars)", field=f"{where}.key"
            )
        filepath = str(slot.get("filepath") or f"/srv/miru/configs/{slug}.{ext}")
        if not filepath.startswith("/"):
            raise unprocessable(f"slot filepath {filepath!r} must be absolute", field=f"{where}.filepath")
        for other in slots:
            if other["key"] == key:
                raise unprocessable(f"duplicate slot key {key!r}", field=f"{where}.key")
            if other["filepath"] == filepath:
                raise unprocessable(f"duplicate slot filepath {filepath!r}", field=f"{where}.filepath")
        slots.append(
            {
                "key": key,
                "name": str(slot.get("name") or key),
                "filepath": filepath,
                "required": bool(slot.get("required", True)),
            }
        )
    return slots


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
    norm_slots = normalize_slots(slots, type_row["slug"], fmt, strict=strict)
    docs = []
    for i, doc in enumerate(documents):
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), str):
            raise invalid(f"documents[{i}] needs name and data strings", field=f"documents[{i}]")
        if language == "jsonschema":
            try:
                content.check_schema_document(doc["data"], "yaml" if fmt == "yaml" else "json")
            except content.ContentError as e:
                raise unprocessable(f"documents[{i}]: {e}", field=f"documents[{i}].data") from None
        docs.append({"name": str(doc.get("name") or f"schema.{fmt}"), "data": doc["data"]})
    if language == "jsonschema" and not docs:
        raise unprocessable("a jsonschema config schema needs at least one document", field="documents")
    digest = schema_digest(language, fmt, instance_format, norm_slots, docs)
    existing: sqlite3.Row | None = conn.execute(
        "SELECT * FROM config_schemas WHERE config_type_id = ? AND digest = ?", (type_row["id"], digest)
    ).fetchone()
    if existing is not None:
        return existing  # dedup by digest: the same schema is never stored twice
    schema_id = new_id("cfg_sch")
    stored_docs = [{"id": new_id("cfg_sch_doc"), **d} for d in docs]
    conn.execute(
        "INSERT INTO config_schemas VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            schema_id,
            type_row["id"],
            digest,
            language,
            fmt,
            instance_format,
            json.dumps(norm_slots),
            json.dumps(stored_docs),
            label,
            at,
            at,
        ),
    )
    return CONFIG_SCHEMAS.row(conn, schema_id)


def resolve_type_ref(conn: sqlite3.Connection, ref: Any) -> sqlite3.Row:
    if not isinstance(ref, dict) or not (ref.get("id") or ref.get("slug")):
        raise invalid("config_type_ref needs an id or a slug", field="config_type_ref")
    if ref.get("id"):
        return CONFIG_TYPES.row(conn, str(ref["id"]))
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM config_types WHERE slug = ?", (str(ref["slug"]),)
    ).fetchone()
    if row is None:
        raise not_found("config type", str(ref["slug"]))
    return row


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


# --- config instances ------------------------------------------------------------------------


def pick_slot(schema: sqlite3.Row, slot_key: str | None) -> dict[str, Any]:
    slots: list[dict[str, Any]] = json.loads(schema["slots"])
    if slot_key is None:
        if len(slots) != 1:
            raise unprocessable(
                "slot_key is required: the config schema has several slots",
                field="slot_key",
                slots=[s["key"] for s in slots],
            )
        return slots[0]
    for slot in slots:
        if slot["key"] == slot_key:
            return slot
    raise unprocessable(
        f"the config schema has no slot {slot_key!r}", field="slot_key", slots=[s["key"] for s in slots]
    )


def check_content(schema: sqlite3.Row, data: str, fmt: str) -> None:
    if fmt != schema["instance_format"]:
        raise unprocessable(
            f"content format {fmt!r} does not match the schema's instance_format "
            f"{schema['instance_format']!r}",
            field="content.format",
        )
    try:
        content.validate(data, fmt, schema["language"], json.loads(schema["documents"]), schema["format"])
    except content.ContentError as e:
        raise unprocessable(
            str(e), code="invalid_content", errors=e.errors, paths=[x["path"] for x in e.errors]
        ) from None


def create_config_instance(ctx: Ctx) -> Response:
    expand = CONFIG_INSTANCES.expansions(ctx)
    body = ctx.obj()
    body_content = body.get("content")
    if not isinstance(body_content, dict) or not isinstance(body_content.get("data"), str):
        raise invalid("content needs format and data strings", field="content")
    with write(ctx.conn):
        schema = CONFIG_SCHEMAS.row(ctx.conn, req_str(body, "config_schema_id"))
        slot = pick_slot(schema, opt_str(body, "slot_key"))
        fmt = str(body_content.get("format") or schema["instance_format"])
        check_content(schema, body_content["data"], fmt)
        instance_id = new_id("cfg_inst")
        ctx.conn.execute(
            "INSERT INTO config_instances VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                instance_id,
                schema["id"],
                schema["config_type_id"],
                slot["key"],
                slot["filepath"],
                fmt,
                body_content["data"],
                ctx.now,
            ),
        )
        row = CONFIG_INSTANCES.row(ctx.conn, instance_id)
    return CONFIG_INSTANCES.one(ctx, row, expand)


CONTENT_TYPES = {
    "json": "application/json",
    "jsonc": "application/json",
    "yaml": "application/yaml",
    "xml": "application/xml",
    "text": "text/plain; charset=utf-8",
}


def get_config_instance_content(ctx: Ctx) -> Response:
    row = CONFIG_INSTANCES.row(ctx.conn, ctx.path("config_instance_id"))
    disposition = ctx.request.query_params.get("disposition", "inline")
    if disposition not in ("inline", "attachment"):
        raise invalid("disposition must be inline or attachment", param="disposition")
    filename = str(row["filepath"]).rsplit("/", 1)[-1]
    return Response(
        row["data"],
        media_type=CONTENT_TYPES.get(row["format"], "text/plain"),
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


routes = [
    Route("/config_types", api("config_types", CONFIG_TYPES.list), methods=["GET"]),
    Route("/config_types", api("config_types", create_config_type), methods=["POST"]),
    Route("/config_types/{config_type_id}", api("config_types", CONFIG_TYPES.get), methods=["GET"]),
    Route("/config_types/{config_type_id}", api("config_types", update_config_type), methods=["PATCH"]),
    Route("/config_schemas", api("config_schemas", CONFIG_SCHEMAS.list), methods=["GET"]),
    Route("/config_schemas", api("config_schemas", create_config_schema), methods=["POST"]),
    Route("/config_schemas/{config_schema_id}", api("config_schemas", CONFIG_SCHEMAS.get), methods=["GET"]),
    Route("/config_instances", api("config_instances", CONFIG_INSTANCES.list), methods=["GET"]),
    Route("/config_instances", api("config_instances", create_config_instance), methods=["POST"]),
    Route(
        "/config_instances/{config_instance_id}",
        api("config_instances", CONFIG_INSTANCES.get),
        methods=["GET"],
    ),
    Route(
        "/config_instances/{config_instance_id}/content",
        api("config_instances", get_config_instance_content),
        methods=["GET"],
    ),
]
