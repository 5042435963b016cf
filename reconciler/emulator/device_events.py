"""The device events the agents record (deployed, removed), with the deployment as it then was;
served by `events`."""

from __future__ import annotations

import json
import sqlite3

from reconciler.emulator.times import iso


def merged_status(activity: str, error: str) -> str:
    return error if error != "none" else activity


def record_event(conn: sqlite3.Connection, deployment_id: str, event_type: str, at: float) -> None:
    d = conn.execute("SELECT * FROM deployments WHERE id = ?", (deployment_id,)).fetchone()
    data = {
        "deployment_id": d["id"],
        "release_id": d["release_id"],
        "status": merged_status(d["activity_status"], d["error_status"]),
        "activity_status": d["activity_status"],
        "error_status": d["error_status"],
        "target_status": d["target_status"],
        "deployed_at": iso(d["deployed_at"]),
    }
    conn.execute(
        "INSERT INTO events (device_id, type, occurred_at, data) VALUES (?, ?, ?, ?)",
        (d["device_id"], event_type, at, json.dumps(data)),
    )
