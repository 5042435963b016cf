"""The group tree's rules: names unique among siblings, at most 12 levels; a group's ancestors
(a group never moves under itself)."""

from __future__ import annotations

import sqlite3

from reconciler.emulator.errors import conflict, unprocessable


def check_name(conn: sqlite3.Connection, name: str, parent_id: str | None, own_id: str | None) -> None:
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


def check_depth(conn: sqlite3.Connection, parent_id: str | None, height: int, group_id: str | None) -> None:
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


def ancestors(conn: sqlite3.Connection, group_id: str | None) -> list[str]:
    out: list[str] = []
    while group_id is not None and group_id not in out:
        out.append(group_id)
        row = conn.execute("SELECT parent_id FROM groups WHERE id = ?", (group_id,)).fetchone()
        group_id = row["parent_id"] if row else None
    return out
