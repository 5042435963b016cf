"""Releases: unique versions, a set of config schemas (at most one per config type)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import conflict, invalid, unprocessable
from reconciler.emulator.fields import req_str
from reconciler.emulator.http import Ctx
from reconciler.emulator.ids import new_id
from reconciler.emulator.resources import Resource
from reconciler.emulator.store import write

RELEASES = Resource("releases", "release", "release_id", views.releases, filters=("id", "version"))


def create_release(
    conn: sqlite3.Connection,
    version: str,
    schema_ids: Sequence[str],
    at: float,
    git_commit_id: str | None = None,
) -> sqlite3.Row:
    if conn.execute("SELECT 1 FROM releases WHERE version = ?", (version,)).fetchone():
        raise conflict(f"release version {version!r} already exists", code="version_taken", version=version)
    seen_types: dict[str, str] = {}
    filepaths: dict[str, str] = {}
    for schema_id in dict.fromkeys(schema_ids):
        row = conn.execute(
            "SELECT id, config_type_id, slots FROM config_schemas WHERE id = ?", (schema_id,)
        ).fetchone()
        if row is None:
            raise unprocessable(
                f"config schema {schema_id!r} does not exist",
                field="config_schema_ids",
                config_schema_id=schema_id,
            )
        if row["config_type_id"] in seen_types:
            raise unprocessable(
                "a release holds at most one config schema per config type",
                field="config_schema_ids",
                config_type_id=row["config_type_id"],
            )
        seen_types[row["config_type_id"]] = schema_id
        for slot in json.loads(row["slots"]):
            other = filepaths.setdefault(slot["filepath"], schema_id)
            if other != schema_id:
                raise unprocessable(
                    f"slot filepath {slot['filepath']!r} is used by two config schemas of the release",
                    field="config_schema_ids",
                    filepath=slot["filepath"],
                    config_schema_ids=[other, schema_id],
                )
    release_id = new_id("rls")
    conn.execute("INSERT INTO releases VALUES (?, ?, ?, ?, ?)", (release_id, version, git_commit_id, at, at))
    conn.executemany(
        "INSERT INTO release_schemas VALUES (?, ?, ?)",
        [(release_id, s, i) for i, s in enumerate(dict.fromkeys(schema_ids))],
    )
    return RELEASES.row(conn, release_id)


def _git_commit_id(conn: sqlite3.Connection, ref: Any) -> str | None:
    if ref is None:
        return None
    if not isinstance(ref, dict):
        raise invalid("git_commit_ref must be an object", field="git_commit_ref")
    if ref.get("id"):
        row = conn.execute("SELECT id FROM git_commits WHERE id = ?", (str(ref["id"]),)).fetchone()
    elif ref.get("sha"):
        row = conn.execute(
            "SELECT id FROM git_commits WHERE sha = ? ORDER BY created_at DESC LIMIT 1", (str(ref["sha"]),)
        ).fetchone()
    else:
        return None
    if row is None:
        raise unprocessable(
            "git commit not found", field="git_commit_ref", **{k: str(v) for k, v in ref.items()}
        )
    return str(row["id"])


def create(ctx: Ctx) -> Response:
    expand = RELEASES.expansions(ctx)
    body = ctx.obj()
    schema_ids = body.get("config_schema_ids")
    if not isinstance(schema_ids, list) or not all(isinstance(s, str) for s in schema_ids):
        raise invalid(
            "config_schema_ids is required and must be a list of strings", field="config_schema_ids"
        )
    with write(ctx.conn):
        commit = _git_commit_id(ctx.conn, body.get("git_commit_ref"))
        row = create_release(ctx.conn, req_str(body, "version"), schema_ids, ctx.now, commit)
    return RELEASES.one(ctx, row, expand)


routes = [
    Route("/releases", api("releases", RELEASES.list), methods=["GET"]),
    Route("/releases", api("releases", create), methods=["POST"]),
    Route("/releases/{release_id}", api("releases", RELEASES.get), methods=["GET"]),
]
