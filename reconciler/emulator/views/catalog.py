"""Releases (their config schemas expandable, in release order), groups (parent expandable) and
git commits."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

from reconciler.emulator.times import formatter
from reconciler.emulator.views.common import Row, by_id, sub
from reconciler.emulator.views.configs import config_schemas


def release_schema_ids(conn: sqlite3.Connection, release_id: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT config_schema_id FROM release_schemas WHERE release_id = ? ORDER BY position",
            (release_id,),
        )
    ]


def releases(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    iso = formatter()
    out = []
    for r in rows:
        body: dict[str, Any] = {
            "object": "release",
            "id": r["id"],
            "version": r["version"],
            "git_commit_id": r["git_commit_id"],
            "created_at": iso(r["created_at"]),
            "updated_at": iso(r["updated_at"]),
        }
        if "config_schemas" in expand:
            ids = release_schema_ids(conn, r["id"])
            schema_rows = by_id(conn, "config_schemas", ids)
            body["config_schemas"] = config_schemas(
                conn, [schema_rows[i] for i in ids], sub(expand, "config_schemas")
            )
        out.append(body)
    return out


def groups(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    iso = formatter()
    parents = by_id(conn, "groups", (r["parent_id"] for r in rows)) if "parent" in expand else {}
    out = []
    for r in rows:
        body: dict[str, Any] = {
            "object": "group",
            "id": r["id"],
            "name": r["name"],
            "parent_id": r["parent_id"],
            "created_at": iso(r["created_at"]),
            "updated_at": iso(r["updated_at"]),
        }
        if "parent" in expand:
            p = parents.get(r["parent_id"]) if r["parent_id"] else None
            body["parent"] = groups(conn, [p], sub(expand, "parent"))[0] if p is not None else None
        out.append(body)
    return out


def git_commits(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    iso = formatter()
    return [
        {
            "object": "git_commit",
            "id": r["id"],
            "sha": r["sha"],
            "message": r["message"],
            "repository_owner": r["repository_owner"],
            "repository_name": r["repository_name"],
            "repository_type": r["repository_type"],
            "repository_url": r["repository_url"],
            "commit_url": r["commit_url"],
            "created_at": iso(r["created_at"]),
        }
        for r in rows
    ]
