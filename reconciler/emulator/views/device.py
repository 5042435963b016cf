"""Devices, with their current deployment and release (as the platform derives them) and group
expandable."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

from reconciler.emulator import platform
from reconciler.emulator.times import iso
from reconciler.emulator.views import deployment  # deployments expand their device: a cycle
from reconciler.emulator.views.catalog import groups, releases
from reconciler.emulator.views.common import Row, by_id, sub


def devices(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    currents = {r["id"]: platform.device_current(conn, r) for r in rows}
    deps: dict[str, dict[str, Any]] = {}
    if "current_deployment" in expand:
        dep_rows = by_id(conn, "deployments", (c[0] for c in currents.values()))
        deps = {
            d["id"]: d
            for d in deployment.deployments(conn, list(dep_rows.values()), sub(expand, "current_deployment"))
        }
    rels: dict[str, dict[str, Any]] = {}
    if "current_release" in expand:
        rel_rows = by_id(conn, "releases", (c[1] for c in currents.values()))
        rels = {x["id"]: x for x in releases(conn, list(rel_rows.values()), sub(expand, "current_release"))}
    grps: dict[str, dict[str, Any]] = {}
    if "group" in expand:
        grp_rows = by_id(conn, "groups", (r["group_id"] for r in rows))
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
