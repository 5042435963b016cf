"""Devices: create (inactive, no group), rename, list/filter, ping. Group membership is
read-only on the platform API (the admin API moves devices between groups)."""

from __future__ import annotations

import sqlite3

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import platform, views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import conflict, invalid
from reconciler.emulator.fields import req_str
from reconciler.emulator.http import Ctx, ok
from reconciler.emulator.ids import new_id
from reconciler.emulator.listing import new_filter
from reconciler.emulator.resources import Resource
from reconciler.emulator.store import write

STATUSES = ("inactive", "activating", "online", "offline", "archived")
DEVICES = Resource(
    "devices",
    "device",
    "device_id",
    views.devices,
    order={"id": "id", "created_at": "created_at", "status": "status"},
    filters=("id", "name", "agent_version", "group_id"),
    enums={"status": STATUSES},
)


def _check_name(conn: sqlite3.Connection, name: str) -> None:
    if conn.execute("SELECT 1 FROM devices WHERE name = ?", (name,)).fetchone():
        raise conflict(f"a device named {name!r} already exists", code="name_taken", name=name)


def create_device(
    conn: sqlite3.Connection, name: str, at: float, status: str = "inactive", group_id: str | None = None
) -> sqlite3.Row:
    _check_name(conn, name)
    device_id = new_id("dvc")
    conn.execute(
        "INSERT INTO devices (id, name, description, status, agent_version, group_id, created_at, "
        "updated_at) VALUES (?, ?, NULL, ?, NULL, ?, ?, ?)",
        (device_id, name, status, group_id, at, at),
    )
    return DEVICES.row(conn, device_id)


def create(ctx: Ctx) -> Response:
    expand = DEVICES.expansions(ctx)
    body = ctx.obj()
    with write(ctx.conn):
        row = create_device(ctx.conn, req_str(body, "name"), ctx.now)
    return DEVICES.one(ctx, row, expand)


def list_(ctx: Ctx) -> Response:
    """`current_release_id` filters by the current release under the active reading (the
    target's, or the confirmed deployment's with `current_switch: confirm`)."""
    flt = new_filter()
    releases = ctx.values("current_release_id")
    if releases:
        marks = ", ".join("?" for _ in releases)
        if platform.current().current_switch == "create":
            flt.add(f"current_release_id IN ({marks})", *releases)
        else:
            flt.add(
                f"live_deployment_id IN (SELECT id FROM deployments WHERE release_id IN ({marks}))", *releases
            )
    return DEVICES.list(ctx, flt)


def update(ctx: Ctx) -> Response:
    return DEVICES.rename(ctx, lambda row, name: _check_name(ctx.conn, name))


def ping(ctx: Ctx) -> Response:
    body = ctx.obj()
    timeout = body.get("timeout_nanos")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0:
        raise invalid("timeout_nanos is required and must be a non-negative integer", field="timeout_nanos")
    row = DEVICES.row(ctx.conn, ctx.path("device_id"))
    if row["status"] == "online":
        return ok({"code": "success", "round_trip_nanos": 2_000_000})
    return ok({"code": "timeout"})


routes = [
    Route("/devices", api("devices", list_), methods=["GET"]),
    Route("/devices", api("devices", create), methods=["POST"]),
    Route("/devices/{device_id}", api("devices", DEVICES.get), methods=["GET"]),
    Route("/devices/{device_id}", api("devices", update), methods=["PATCH"]),
    Route("/devices/{device_id}/ping", api("devices", ping, needs=("devices:read",)), methods=["POST"]),
]
