"""Groups: a tree (names unique among siblings), rename, move without cycles."""

from __future__ import annotations

import sqlite3

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import conflict, invalid, unprocessable
from reconciler.emulator.fields import opt_str, req_str
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


def _check_name(conn: sqlite3.Connection, name: str, parent_id: str | None, own_id: str | None) -> None:
    clash = conn.execute(
        "SELECT id FROM groups WHERE name = ? AND parent_id IS ? AND id IS NOT ?", (name, parent_id, own_id)
    ).fetchone()
    if clash:
        raise conflict(
            f"a group named {name!r} already exists under this parent",
            code="name_taken",
            name=name,
            parent_id=parent_id,
        )


MAX_DEPTH = 12  # "The tree can be up to 12 levels deep, counting the top-level group."


def _check_depth(conn: sqlite3.Connection, parent_id: str | None, height: int, group_id: str | None) -> None:
    """422 when a subtree `height` levels tall under `parent_id` would pass MAX_DEPTH."""
    depth = len(ancestors(conn, parent_id)) + height
    if depth > MAX_DEPTH:
        raise unprocessable(
            f"groups nest at most {MAX_DEPTH} levels deep (this would make {depth})",
            code="group_too_deep",
            parent_id=parent_id,
            group_id=group_id,
            max_depth=MAX_DEPTH,
        )


def subtree_height(conn: sqlite3.Connection, group_id: str) -> int:
    row = conn.execute(
        "WITH RECURSIVE t(id, level) AS (SELECT ?, 1 UNION ALL "
        "SELECT g.id, t.level + 1 FROM groups g JOIN t ON g.parent_id = t.id WHERE t.level < 64) "
        "SELECT MAX(level) FROM t",
        (group_id,),
    ).fetchone()
    return int(row[0])


def create_group(conn: sqlite3.Connection, name: str, parent_id: str | None, at: float) -> sqlite3.Row:
    if parent_id is not None:
        GROUPS.row(conn, parent_id)
        _check_depth(conn, parent_id, 1, None)
    _check_name(conn, name, parent_id, None)
    group_id = new_id("grp")
    conn.execute("INSERT INTO groups VALUES (?, ?, ?, ?, ?)", (group_id, name, parent_id, at, at))
    return GROUPS.row(conn, group_id)


def ancestors(conn: sqlite3.Connection, group_id: str | None) -> list[str]:
    out: list[str] = []
    while group_id is not None and group_id not in out:
        out.append(group_id)
        row = conn.execute("SELECT parent_id FROM groups WHERE id = ?", (group_id,)).fetchone()
        group_id = row["parent_id"] if row else None
    return out


def create(ctx: Ctx) -> Response:
    expand = GROUPS.expansions(ctx)
    body = ctx.obj()
    with write(ctx.conn):
        row = create_group(ctx.conn, req_str(body, "name"), opt_str(body, "parent_id"), ctx.now)
    return GROUPS.one(ctx, row, expand)


def update(ctx: Ctx) -> Response:
    return GROUPS.rename(ctx, lambda row, name: _check_name(ctx.conn, name, row["parent_id"], row["id"]))


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
            _check_depth(ctx.conn, parent_id, subtree_height(ctx.conn, row["id"]), row["id"])
        _check_name(ctx.conn, row["name"], parent_id, row["id"])
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
