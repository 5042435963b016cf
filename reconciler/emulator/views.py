"""Response bodies shaped like the everglades spec's schemas (every required field present,
nullable ones as null), with the `expand` options each resource supports."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from reconciler.emulator import platform
from reconciler.emulator.agents import merged_status
from reconciler.emulator.store import iso

Row = sqlite3.Row

# What each resource (by table) can expand: field -> the expanded object's resource (None for a
# leaf). Nested expansions follow it (`expand=release.config_schemas.config_type`).
EXPANSIONS: dict[str, dict[str, str | None]] = {
    "config_types": {},
    "config_schemas": {"documents": None, "config_type": "config_types"},
    "config_instances": {"content": None, "config_schema": "config_schemas", "config_type": "config_types"},
    "releases": {"config_schemas": "config_schemas"},
    "groups": {"parent": "groups"},
    "devices": {"current_deployment": "deployments", "current_release": "releases", "group": "groups"},
    "deployments": {
        "device": "devices",
        "release": "releases",
        "parent": "deployments",
        "config_instances": "config_instances",
    },
    "git_commits": {},
}


def sub(expand: Collection[str], field: str) -> set[str]:
    """The expansions nested under `field`: {"release.config_schemas"} -> {"config_schemas"}."""
    prefix = field + "."
    return {e[len(prefix) :] for e in expand if e.startswith(prefix)}


def _by_id(conn: sqlite3.Connection, table: str, ids: Iterable[str | None]) -> dict[str, Row]:
    wanted = sorted({i for i in ids if i})
    out: dict[str, Row] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(f"SELECT * FROM {table} WHERE id IN ({marks})", chunk):
            out[row["id"]] = row
    return out


# --- config types ----------------------------------------------------------------------------


def config_type(row: Row) -> dict[str, Any]:
    return {
        "object": "config_type",
        "id": row["id"],
        "name": row["name"],
        "slug": row["slug"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def config_types(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    return [config_type(r) for r in rows]


# --- config schemas --------------------------------------------------------------------------


def config_schemas(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    types = _by_id(conn, "config_types", (r["config_type_id"] for r in rows))
    out = []
    for r in rows:
        t = types[r["config_type_id"]]
        body: dict[str, Any] = {
            "object": "config_schema",
            "id": r["id"],
            "digest": r["digest"],
            "config_type_name": t["name"],
            "instance_slots": json.loads(r["slots"]),
            "instance_format": r["instance_format"],
            "created_at": iso(r["created_at"]),
            "updated_at": iso(r["updated_at"]),
            "config_type_id": r["config_type_id"],
            "language": r["language"],
            "format": r["format"],
        }
        if "documents" in expand:
            body["documents"] = json.loads(r["documents"])
        if "config_type" in expand:
            body["config_type"] = config_type(t)
        out.append(body)
    return out


# --- config instances ------------------------------------------------------------------------


def config_instances(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    types = _by_id(conn, "config_types", (r["config_type_id"] for r in rows))
    schemas: dict[str, dict[str, Any]] = {}
    if "config_schema" in expand:
        schema_rows = _by_id(conn, "config_schemas", (r["config_schema_id"] for r in rows))
        rendered = config_schemas(conn, list(schema_rows.values()), sub(expand, "config_schema"))
        schemas = {s["id"]: s for s in rendered}
    out = []
    for r in rows:
        t = types[r["config_type_id"]]
        body: dict[str, Any] = {
            "object": "config_instance",
            "id": r["id"],
            "config_type_name": t["name"],
            "filepath": r["filepath"],
            "slot_key": r["slot_key"],
            "created_at": iso(r["created_at"]),
            "config_schema_id": r["config_schema_id"],
            "config_type_id": r["config_type_id"],
        }
        if "config_schema" in expand:
            body["config_schema"] = schemas[r["config_schema_id"]]
        if "config_type" in expand:
            body["config_type"] = config_type(t)
        if "content" in expand:
            body["content"] = {"format": r["format"], "data": r["data"]}
        out.append(body)
    return out


# --- releases --------------------------------------------------------------------------------


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
            by_id = _by_id(conn, "config_schemas", ids)
            body["config_schemas"] = config_schemas(
                conn, [by_id[i] for i in ids], sub(expand, "config_schemas")
            )
        out.append(body)
    return out


# --- groups ----------------------------------------------------------------------------------


def groups(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    parents = _by_id(conn, "groups", (r["parent_id"] for r in rows)) if "parent" in expand else {}
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


# --- devices ---------------------------------------------------------------------------------


def devices(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    currents = {r["id"]: platform.device_current(conn, r) for r in rows}
    deps: dict[str, dict[str, Any]] = {}
    if "current_deployment" in expand:
        dep_rows = _by_id(conn, "deployments", (c[0] for c in currents.values()))
        deps = {
            d["id"]: d for d in deployments(conn, list(dep_rows.values()), sub(expand, "current_deployment"))
        }
    rels: dict[str, dict[str, Any]] = {}
    if "current_release" in expand:
        rel_rows = _by_id(conn, "releases", (c[1] for c in currents.values()))
        rels = {x["id"]: x for x in releases(conn, list(rel_rows.values()), sub(expand, "current_release"))}
    grps: dict[str, dict[str, Any]] = {}
    if "group" in expand:
        grp_rows = _by_id(conn, "groups", (r["group_id"] for r in rows))
        grps = {g["id"]: g for g in groups(conn, list(grp_rows.values()), sub(expand, "group"))}
    out = []
    for r in rows:
        body: dict[str, Any] = {
            "object": "device",
            "id": r["id"],
            "name": r["name"],
            "description": r["description"],
            "status": r["status"],
            "agent_version": r["agent_version"],
            "last_connected_at": iso(r["last_connected_at"]),
            "last_disconnected_at": iso(r["last_disconnected_at"]),
            "created_at": iso(r["created_at"]),
            "updated_at": iso(r["updated_at"]),
            "group_id": r["group_id"],
        }
        if "current_deployment" in expand:
            body["current_deployment"] = deps.get(currents[r["id"]][0] or "")
        if "current_release" in expand:
            body["current_release"] = rels.get(currents[r["id"]][1] or "")
        if "group" in expand:
            body["group"] = grps.get(r["group_id"] or "")
        out.append(body)
    return out


# --- deployments -----------------------------------------------------------------------------


def deployment_instance_ids(conn: sqlite3.Connection, deployment_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {d: [] for d in deployment_ids}
    for start in range(0, len(deployment_ids), 500):
        chunk = list(deployment_ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(
            f"SELECT deployment_id, config_instance_id FROM deployment_instances "
            f"WHERE deployment_id IN ({marks}) ORDER BY deployment_id, position",
            chunk,
        ):
            out[row[0]].append(row[1])
    return out


def deployments(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    devs: dict[str, dict[str, Any]] = {}
    if "device" in expand:
        dev_rows = _by_id(conn, "devices", (r["device_id"] for r in rows))
        devs = {d["id"]: d for d in devices(conn, list(dev_rows.values()), sub(expand, "device"))}
    rels: dict[str, dict[str, Any]] = {}
    if "release" in expand:
        rel_rows = _by_id(conn, "releases", (r["release_id"] for r in rows))
        rels = {x["id"]: x for x in releases(conn, list(rel_rows.values()), sub(expand, "release"))}
    parents: dict[str, dict[str, Any]] = {}
    if "parent" in expand:
        par_rows = _by_id(conn, "deployments", (r["parent_id"] for r in rows))
        parents = {p["id"]: p for p in deployments(conn, list(par_rows.values()), sub(expand, "parent"))}
    instances: dict[str, list[dict[str, Any]]] = {}
    if "config_instances" in expand:
        ids = deployment_instance_ids(conn, [r["id"] for r in rows])
        inst_rows = _by_id(conn, "config_instances", (i for v in ids.values() for i in v))
        rendered = {
            x["id"]: x
            for x in config_instances(conn, list(inst_rows.values()), sub(expand, "config_instances"))
        }
        instances = {d: [rendered[i] for i in v] for d, v in ids.items()}
    out = []
    for r in rows:
        body: dict[str, Any] = {
            "object": "deployment",
            "id": r["id"],
            "description": r["description"],
            "status": merged_status(r["activity_status"], r["error_status"]),
            "activity_status": r["activity_status"],
            "error_status": r["error_status"],
            "target_status": r["target_status"],
            "device_id": r["device_id"],
            "release_id": r["release_id"],
            "created_at": iso(r["created_at"]),
            "updated_at": iso(r["updated_at"]),
            "parent_id": r["parent_id"],
            "queued_at": iso(r["queued_at"]),
            "deployed_at": iso(r["deployed_at"]),
            "archived_at": iso(r["archived_at"]),
        }
        if "device" in expand:
            body["device"] = devs[r["device_id"]]
        if "release" in expand:
            body["release"] = rels[r["release_id"]]
        if "parent" in expand:
            body["parent"] = parents.get(r["parent_id"] or "")
        if "config_instances" in expand:
            body["config_instances"] = instances[r["id"]]
        out.append(body)
    return out


# --- git commits -----------------------------------------------------------------------------


def git_commits(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
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
