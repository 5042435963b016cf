"""Config types: created with a slug that never changes; found by id or slug."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import conflict, invalid, not_found, unprocessable
from reconciler.emulator.fields import req_str
from reconciler.emulator.http import Ctx
from reconciler.emulator.ids import new_id
from reconciler.emulator.resources import Resource
from reconciler.emulator.store import write

CONFIG_TYPES = Resource(
    "config_types", "config type", "config_type_id", views.config_types, filters=("id", "name", "slug")
)


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


routes = [
    Route("/config_types", api("config_types", CONFIG_TYPES.list), methods=["GET"]),
    Route("/config_types", api("config_types", create_config_type), methods=["POST"]),
    Route("/config_types/{config_type_id}", api("config_types", CONFIG_TYPES.get), methods=["GET"]),
    Route("/config_types/{config_type_id}", api("config_types", update_config_type), methods=["PATCH"]),
]
