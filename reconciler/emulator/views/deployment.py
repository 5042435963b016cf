"""Deployments: the merged status next to activity, error and target status; device, release,
parent and config instances expandable."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

from reconciler.emulator.device_events import merged_status
from reconciler.emulator.times import formatter
from reconciler.emulator.views import device  # devices expand their deployment: a cycle
from reconciler.emulator.views.catalog import releases
from reconciler.emulator.views.common import Render, Row, expanded, sub
from reconciler.emulator.views.configs import config_instances


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
    iso = formatter()

    def of(field: str, table: str, key: str, render: Render) -> dict[str, dict[str, Any]]:
        ids = (r[key] for r in rows)
        return expanded(conn, table, ids, render, sub(expand, field)) if field in expand else {}

    devs = of("device", "devices", "device_id", device.devices)
    rels = of("release", "releases", "release_id", releases)
    parents = of("parent", "deployments", "parent_id", deployments)
    instances: dict[str, list[dict[str, Any]]] = {}
    if "config_instances" in expand:
        ids = deployment_instance_ids(conn, [r["id"] for r in rows])
        flat = (i for v in ids.values() for i in v)
        rendered = expanded(conn, "config_instances", flat, config_instances, sub(expand, "config_instances"))
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
