"""Simulated device agents and the deployment state machine.

Transitions are computed lazily: a deployment waiting on its agent carries `next_at`
(emulator-clock seconds); every request first runs `advance(now)`, which applies every
transition that fell due, in time order, using the due time as the transition time. No
background thread, so a db file can be shared by separate processes.

Device pointers: `target_deployment_id` is the deployment the device is meant to run
(deployed or on its way; `parent_id` is compared with it), `live_deployment_id` the one
whose files are on the device, `current_release_id` the target's release.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from reconciler.emulator.store import write
from reconciler.emulator.times import iso

BEHAVIOURS = ("ok", "fail", "retry", "slow")
SLOW_FACTOR = 10.0
MAX_DELAY = 365 * 86400.0  # an agent delay of up to a year (seeds and the admin PATCH)


def merged_status(activity: str, error: str) -> str:
    return error if error != "none" else activity


def agent_delay(device: sqlite3.Row) -> float:
    factor = SLOW_FACTOR if device["behaviour"] == "slow" else 1.0
    return float(device["delay"]) * factor


def _device(conn: sqlite3.Connection, device_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM devices WHERE id = ?", (device_id,)).fetchone()
    assert row is not None, device_id
    return row


def _deployment(conn: sqlite3.Connection, deployment_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM deployments WHERE id = ?", (deployment_id,)
    ).fetchone()
    assert row is not None, deployment_id
    return row


def record_event(conn: sqlite3.Connection, deployment_id: str, event_type: str, at: float) -> None:
    d = _deployment(conn, deployment_id)
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


def archive_now(conn: sqlite3.Connection, deployment_id: str, at: float) -> None:
    """Archive a deployment that never reached the device (staged, drifted, or superseded
    while queued)."""
    conn.execute(
        "UPDATE deployments SET target_status = 'archived', activity_status = 'archived', "
        "archived_at = ?, updated_at = ?, next_at = NULL WHERE id = ?",
        (at, at, deployment_id),
    )


def make_target(conn: sqlite3.Connection, deployment_id: str, at: float) -> None:
    """Point the device at this deployment (create `deployed`, or deploy a staged one):
    it queues for the agent; a previous target still in flight is superseded."""
    d = _deployment(conn, deployment_id)
    dev = _device(conn, d["device_id"])
    target, live = dev["target_deployment_id"], dev["live_deployment_id"]
    if target and target != live and target != deployment_id:
        archive_now(conn, target, at)
    next_at = at + agent_delay(dev) if dev["status"] == "online" else None
    conn.execute(
        "UPDATE deployments SET target_status = 'deployed', activity_status = 'queued', "
        "error_status = 'none', queued_at = ?, updated_at = ?, next_at = ?, replaced_id = ? "
        "WHERE id = ?",
        (at, at, next_at, live, deployment_id),
    )
    conn.execute(
        "UPDATE devices SET target_deployment_id = ?, current_release_id = ?, updated_at = ? WHERE id = ?",
        (deployment_id, d["release_id"], at, dev["id"]),
    )


def reschedule_device(conn: sqlite3.Connection, device_id: str, at: float, *, only_waiting: bool) -> None:
    """After an admin change: queued deployments wait a fresh agent delay from now. When the
    device only came back online, just the waiting ones (offline or retrying) are picked up;
    a new behaviour or delay reschedules every queued one. Removals continue as they were."""
    dev = _device(conn, device_id)
    if dev["status"] != "online":
        return
    waiting = " AND next_at IS NULL" if only_waiting else ""
    conn.execute(
        "UPDATE deployments SET next_at = ? WHERE device_id = ? AND activity_status = 'queued' "
        "AND target_status = 'deployed'" + waiting,
        (at + agent_delay(dev), device_id),
    )


def _land(conn: sqlite3.Connection, d: sqlite3.Row, dev: sqlite3.Row, at: float) -> None:
    """The agent wrote the files: deployed; the previously live deployment starts removing."""
    conn.execute(
        "UPDATE deployments SET activity_status = 'deployed', error_status = 'none', "
        "deployed_at = ?, updated_at = ?, next_at = NULL WHERE id = ?",
        (at, at, d["id"]),
    )
    old = dev["live_deployment_id"]
    if old and old != d["id"]:
        conn.execute(
            "UPDATE deployments SET activity_status = 'removing', target_status = 'archived', "
            "updated_at = ?, next_at = ? WHERE id = ?",
            (at, at + float(dev["delay"]), old),
        )
    conn.execute(
        "UPDATE devices SET live_deployment_id = ?, updated_at = ? WHERE id = ?", (d["id"], at, dev["id"])
    )
    record_event(conn, d["id"], "deployment.deployed", at)


def _fail(conn: sqlite3.Connection, d: sqlite3.Row, dev: sqlite3.Row, at: float) -> None:
    """Fatal agent error: the deployment is archived as failed; the device keeps (and
    targets again) the deployment it had."""
    conn.execute(
        "UPDATE deployments SET activity_status = 'archived', target_status = 'archived', "
        "error_status = 'failed', archived_at = ?, updated_at = ?, next_at = NULL WHERE id = ?",
        (at, at, d["id"]),
    )
    if dev["target_deployment_id"] == d["id"]:
        live = dev["live_deployment_id"]
        release = None
        if live:
            release = _deployment(conn, live)["release_id"]
        conn.execute(
            "UPDATE devices SET target_deployment_id = ?, current_release_id = ?, updated_at = ? "
            "WHERE id = ?",
            (live, release, at, dev["id"]),
        )


def _step(conn: sqlite3.Connection, d: sqlite3.Row, at: float) -> None:
    dev = _device(conn, d["device_id"])
    if d["activity_status"] == "removing":
        conn.execute(
            "UPDATE deployments SET activity_status = 'archived', archived_at = ?, updated_at = ?, "
            "next_at = NULL WHERE id = ?",
            (at, at, d["id"]),
        )
        record_event(conn, d["id"], "deployment.removed", at)
        return
    if d["activity_status"] != "queued" or d["target_status"] != "deployed":
        conn.execute("UPDATE deployments SET next_at = NULL WHERE id = ?", (d["id"],))
        return
    if dev["status"] != "online":
        # Offline at the due time: stays queued until an admin call brings it online.
        conn.execute("UPDATE deployments SET next_at = NULL WHERE id = ?", (d["id"],))
        return
    behaviour = dev["behaviour"]
    if behaviour == "fail":
        _fail(conn, d, dev, at)
    elif behaviour == "retry":
        # Keeps retrying until the behaviour changes (admin PATCH reschedules it).
        conn.execute(
            "UPDATE deployments SET error_status = 'retrying', updated_at = ?, next_at = NULL WHERE id = ?",
            (at, d["id"]),
        )
    else:
        _land(conn, d, dev, at)


def advance(conn: sqlite3.Connection, now: float) -> int:
    """Apply every agent transition due at or before `now`. Returns how many were applied."""
    due = "SELECT * FROM deployments WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at, id"
    if (
        conn.execute(
            "SELECT 1 FROM deployments WHERE next_at IS NOT NULL AND next_at <= ? LIMIT 1", (now,)
        ).fetchone()
        is None
    ):
        return 0
    applied = 0
    with write(conn):
        while True:
            rows = conn.execute(due + " LIMIT 500", (now,)).fetchall()
            if not rows:
                break
            for row in rows:
                current = _deployment(conn, row["id"])
                if current["next_at"] is None or current["next_at"] > now:
                    continue
                _step(conn, current, float(current["next_at"]))
                applied += 1
    return applied


def set_agent(conn: sqlite3.Connection, device_id: str, fields: dict[str, Any], at: float) -> None:
    """Admin change of a device's agent/status; reschedules its waiting deployments."""
    dev = _device(conn, device_id)
    status = fields.get("status", dev["status"])
    behaviour = fields.get("behaviour", dev["behaviour"])
    delay = float(fields.get("delay", dev["delay"]))
    connected, disconnected = dev["last_connected_at"], dev["last_disconnected_at"]
    if status != dev["status"]:
        if status == "online":
            connected = at
        elif dev["status"] == "online":
            disconnected = at
    group_id = fields.get("group_id", dev["group_id"])
    conn.execute(
        "UPDATE devices SET status = ?, behaviour = ?, delay = ?, last_connected_at = ?, "
        "last_disconnected_at = ?, group_id = ?, updated_at = ? WHERE id = ?",
        (status, behaviour, delay, connected, disconnected, group_id, at, device_id),
    )
    agent_changed = behaviour != dev["behaviour"] or delay != float(dev["delay"])
    if agent_changed or (status == "online" and dev["status"] != "online"):
        reschedule_device(conn, device_id, at, only_waiting=not agent_changed)
