"""Devices, with their current deployment and release (as the platform derives them) and group
expandable."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

from reconciler.emulator import platform
from reconciler.emulator.times import formatter
from reconciler.emulator.views import deployment  # deployments expand their device: a cycle
from reconciler.emulator.views.catalog import groups, releases
from reconciler.emulator.views.common import Row, expanded, sub


def devices(
    conn: sqlite3.Connection, rows: Sequence[Row], expand: Collection[str] = ()
) -> list[dict[str, Any]]:
    iso = formatter()
    currents = {r["id"]: platform.device_current(conn, r) for r in rows}
    deps, rels, grps = {}, {}, {}
    if "current_deployment" in expand:
        ids = (c[0] for c in currents.values())
        deps = expanded(conn, "deployments", ids, deployment.deployments, sub(expand, "current_deployment"))
    if "current_release" in expand:
        ids = (c[1] for c in currents.values())
        rels = expanded(conn, "releases", ids, releases, sub(expand, "current_release"))
    if "group" in expand:
        grps = expanded(conn, "groups", (r["group_id"] for r in rows), groups, sub(expand, "group"))
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
