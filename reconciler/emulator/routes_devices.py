"""Devices: create (inactive, no group), rename, list/filter, ping. Group membership is
read-only on the platform API (the admin API moves devices between groups)."""

from __future__ import annotations

import sqlite3

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import views
from reconciler.emulator.http import (
    Ctx,
    api,
    conflict,
    invalid,
    list_page,
    new_filter,
    not_found,
    ok,
    opt_str,
    order_sql,
    req_str,
)
from reconciler.emulator.store import new_id, write

ORDER = {"id": "id", "created_at": "created_at", "status": "status"}
EXPAND = ("current_deployment", "current_release", "group")
STATUSES = ("inactive", "activating", "online", "offline", "archived")


def get_row(conn: sqlite3.Connection, device_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM devices WHERE id = ?",
        (device_id,)).fetchone()
    if row is None:
        raise not_found("device", device_id)
    return row


def create_device(conn: sqlite3.Connection, name: str, at: float, status: str = "inactive",
                  group_id: str | None = None) -> sqlite3.Row:
    if conn.execute("SELECT 1 FROM devices WHERE name = ?", (name,)).fetchone():
        raise conflict(f"a device named {name!r} already exists", code="name_taken", name=name)
    device_id = new_id("dvc")
    conn.execute(
        "INSERT INTO devices (id, name, description, status, agent_version, group_id, created_at, "
        "updated_at) VALUES (?, ?, '', ?, NULL, ?, ?, ?)", (device_id, name, status, group_id, at, at))
    return get_row(conn, device_id)


def create(ctx: Ctx) -> Response:
    expand = ctx.expand(EXPAND)
    body = ctx.obj()
    with write(ctx.conn):
        row = create_device(ctx.conn, req_str(body, "name"), ctx.now)
    return ok(views.devices(ctx.conn, [row], expand)[0])


def get(ctx: Ctx) -> Response:
    expand = ctx.expand(EXPAND)
    return ok(views.devices(ctx.conn, [get_row(ctx.conn, ctx.path("device_id"))], expand)[0])


def update(ctx: Ctx) -> Response:
    expand = ctx.expand(EXPAND)
    body = ctx.obj()
    name = opt_str(body, "name", nonempty=True)
    with write(ctx.conn):
        row = get_row(ctx.conn, ctx.path("device_id"))
        if name is not None and name != row["name"]:
            if ctx.conn.execute("SELECT 1 FROM devices WHERE name = ?", (name,)).fetchone():
                raise conflict(f"a device named {name!r} already exists", code="name_taken", name=name)
            ctx.conn.execute("UPDATE devices SET name = ?, updated_at = ? WHERE id = ?",
                             (name, ctx.now, row["id"]))
        row = get_row(ctx.conn, row["id"])
    return ok(views.devices(ctx.conn, [row], expand)[0])


def list_(ctx: Ctx) -> Response:
    expand = ctx.expand(("total_count", *EXPAND))
    flt = new_filter()
    flt.any_of("id", ctx.values("id"))
    flt.any_of("name", ctx.values("name"))
    flt.any_of("agent_version", ctx.values("agent_version"))
    flt.any_of("current_release_id", ctx.values("current_release_id"))
    flt.any_of("group_id", ctx.values("group_id"))
    flt.any_of("status", ctx.enum_values("status", STATUSES))
    return list_page(ctx, "devices", flt, order_sql(ctx, ORDER),
                     lambda rows: views.devices(ctx.conn, rows, expand), "total_count" in expand)


def ping(ctx: Ctx) -> Response:
    body = ctx.obj()
    timeout = body.get("timeout_nanos")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0:
        raise invalid("timeout_nanos is required and must be a non-negative integer", field="timeout_nanos")
    row = get_row(ctx.conn, ctx.path("device_id"))
    if row["status"] == "online":
        return ok({"code": "success", "round_trip_nanos": 2_000_000})
    return ok({"code": "timeout"})


routes = [
    Route("/devices", api("devices", list_), methods=["GET"]),
    Route("/devices", api("devices", create), methods=["POST"]),
    Route("/devices/{device_id}", api("devices", get), methods=["GET"]),
    Route("/devices/{device_id}", api("devices", update), methods=["PATCH"]),
    Route("/devices/{device_id}/ping", api("devices", ping), methods=["POST"]),
]
