"""Groups: a tree (names unique among siblings), rename, move without cycles."""

from __future__ import annotations

import sqlite3

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import invalid, unprocessable
from reconciler.emulator.fields import opt_str, req_str
from reconciler.emulator.group_tree import ancestors, check_depth, check_name, subtree_height
from reconciler.emulator.http import Ctx
from reconciler.emulator.ids import new_id
from reconciler.emulator.listing import new_filter
from reconciler.emulator.resources import Resource
from reconciler.emulator.store import write

GROUPS = Resource(
    "groups",
    "group",
    "group_id",
    views.groups,
    order={"id": "id", "created_at": "created_at", "updated_at": "updated_at", "name": "name"},
    filters=("id", "name"),
)


def create_group(conn: sqlite3.Connection, name: str, parent_id: str | None, at: float) -> sqlite3.Row:
    if parent_id is not None:
        GROUPS.row(conn, parent_id)
        check_depth(conn, parent_id, 1, None)
    check_name(conn, name, parent_id, None)
    group_id = new_id("grp")
    conn.execute("INSERT INTO groups VALUES (?, ?, ?, ?, ?)", (group_id, name, parent_id, at, at))
    return GROUPS.row(conn, group_id)


def create(ctx: Ctx) -> Response:
    expand = GROUPS.expansions(ctx)
    body = ctx.obj()
    with write(ctx.conn):
        row = create_group(ctx.conn, req_str(body, "name"), opt_str(body, "parent_id"), ctx.now)
    return GROUPS.one(ctx, row, expand)


def update(ctx: Ctx) -> Response:
    return GROUPS.rename(ctx, lambda row, name: check_name(ctx.conn, name, row["parent_id"], row["id"]))


def move(ctx: Ctx) -> Response:
    expand = GROUPS.expansions(ctx)
    body = ctx.obj()
    if "parent_id" not in body:
        raise invalid("parent_id is required (null moves the group to the top level)", field="parent_id")
    parent_id = opt_str(body, "parent_id")
    with write(ctx.conn):
        row = GROUPS.row(ctx.conn, ctx.path("group_id"))
        if parent_id is not None:
            GROUPS.row(ctx.conn, parent_id)
            if row["id"] in ancestors(ctx.conn, parent_id):
                raise unprocessable(
                    "a group cannot move under itself or one of its descendants",
                    code="group_cycle",
                    group_id=row["id"],
                    parent_id=parent_id,
                )
            check_depth(ctx.conn, parent_id, subtree_height(ctx.conn, row["id"]), row["id"])
        check_name(ctx.conn, row["name"], parent_id, row["id"])
        ctx.conn.execute(
            "UPDATE groups SET parent_id = ?, updated_at = ? WHERE id = ?", (parent_id, ctx.now, row["id"])
        )
        row = GROUPS.row(ctx.conn, row["id"])
    return GROUPS.one(ctx, row, expand)


def list_(ctx: Ctx) -> Response:
    flt = new_filter()
    parents = ctx.values("parent_id")
    if parents:
        # `null` selects top-level groups.
        real = [p for p in parents if p != "null"]
        clauses = []
        if real:
            clauses.append(f"parent_id IN ({', '.join('?' for _ in real)})")
        if len(real) != len(parents):
            clauses.append("parent_id IS NULL")
        flt.add("(" + " OR ".join(clauses) + ")", *real)
    return GROUPS.list(ctx, flt)


routes = [
    Route("/groups", api("groups", list_), methods=["GET"]),
    Route("/groups", api("groups", create), methods=["POST"]),
    Route("/groups/{group_id}", api("groups", GROUPS.get), methods=["GET"]),
    Route("/groups/{group_id}", api("groups", update), methods=["PATCH"]),
    Route("/groups/{group_id}/move", api("groups", move), methods=["POST"]),
]
