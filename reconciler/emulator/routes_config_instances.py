"""Config instances: immutable, their content validated against their schema and slot; the
content served raw with its media type."""

from __future__ import annotations

import json
import sqlite3

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import content, content_checks, views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import invalid, unprocessable
from reconciler.emulator.fields import opt_str, req_str
from reconciler.emulator.http import Ctx
from reconciler.emulator.ids import new_id
from reconciler.emulator.resources import Resource
from reconciler.emulator.routes_config_schemas import CONFIG_SCHEMAS
from reconciler.emulator.schema_slots import pick_slot
from reconciler.emulator.store import write

CONFIG_INSTANCES = Resource(
    "config_instances",
    "config instance",
    "config_instance_id",
    views.config_instances,
    filters=("id", "config_schema_id", "config_type_id", "slot_key"),
)


def check_content(schema: sqlite3.Row, data: str, fmt: str) -> None:
    if fmt != schema["instance_format"]:
        raise unprocessable(
            f"content format {fmt!r} does not match the schema's instance_format "
            f"{schema['instance_format']!r}",
            field="content.format",
        )
    try:
        content_checks.validate(
            data, fmt, schema["language"], json.loads(schema["documents"]), schema["format"]
        )
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
        of = (schema["id"], schema["config_type_id"], slot["key"], slot["filepath"])
        ctx.conn.execute(
            "INSERT INTO config_instances VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (instance_id, *of, fmt, body_content["data"], ctx.now),
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
