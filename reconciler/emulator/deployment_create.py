"""Creating a deployment (staged or deployed): the body checked, then under one write transaction
the device's rules, the row and its instances, and the other staged deployments archived or
drifted."""

from __future__ import annotations

import sqlite3
from typing import Any

from reconciler.emulator import agents
from reconciler.emulator.deployment_rules import UNSET, check_not_archived, check_parent, check_release
from reconciler.emulator.deployment_slots import check_instances
from reconciler.emulator.errors import invalid
from reconciler.emulator.fields import req_str
from reconciler.emulator.ids import new_id
from reconciler.emulator.routes_devices import DEVICES
from reconciler.emulator.routes_releases import RELEASES
from reconciler.emulator.store import write


def create_deployment(conn: sqlite3.Connection, body: dict[str, Any], at: float) -> str:
    target_status = req_str(body, "target_status")
    if target_status not in ("staged", "deployed"):
        raise invalid("target_status must be staged or deployed", field="target_status")
    description = body.get("description")
    if not isinstance(description, str):
        raise invalid("description is required and must be a string", field="description")
    instance_ids = body.get("config_instance_ids")
    if not isinstance(instance_ids, list) or not all(isinstance(i, str) for i in instance_ids):
        raise invalid(
            "config_instance_ids is required and must be a list of strings", field="config_instance_ids"
        )
    parent = body.get("parent_id", UNSET)
    if parent is not UNSET and parent is not None and not isinstance(parent, str):
        raise invalid("parent_id must be a string or null", field="parent_id")
    device_id, release_id = req_str(body, "device_id"), req_str(body, "release_id")
    with write(conn):
        device = DEVICES.row(conn, device_id)
        RELEASES.row(conn, release_id)
        check_not_archived(device)
        check_instances(conn, release_id, instance_ids)
        check_release(conn, device, target_status, release_id)
        parent_id = check_parent(conn, device, parent)
        deployment_id = new_id("dpl")
        conn.execute(
            "INSERT INTO deployments (id, device_id, release_id, description, parent_id, target_status, "
            "activity_status, error_status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'staged', 'staged', 'none', ?, ?)",
            (deployment_id, device_id, release_id, description, parent_id, at, at),
        )
        conn.executemany(
            "INSERT INTO deployment_instances VALUES (?, ?, ?)",
            [(deployment_id, inst, i) for i, inst in enumerate(instance_ids)],
        )
        # One staged deployment per device: staging again archives the previous one; a config
        # patch on the current release drifts it (it was staged against other configs).
        others = conn.execute(
            "SELECT id FROM deployments WHERE device_id = ? AND id != ? AND target_status = 'staged' "
            "AND activity_status IN ('staged', 'drifted')",
            (device_id, deployment_id),
        ).fetchall()
        if target_status == "staged":
            for other in others:
                agents.archive_now(conn, other["id"], at)
        else:
            for other in others:
                conn.execute(
                    "UPDATE deployments SET activity_status = 'drifted', updated_at = ? "
                    "WHERE id = ? AND activity_status = 'staged'",
                    (at, other["id"]),
                )
            agents.make_target(conn, deployment_id, at)
    return deployment_id
