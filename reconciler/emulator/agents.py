"""Simulated device agents and the deployment state machine: what the API and the admin API do
to a device's target (the due transitions themselves are in `agent_steps`).

Transitions are computed lazily: a deployment waiting on its agent carries `next_at`
(emulator-clock seconds); every request first runs `advance(now)`, which applies every
transition that fell due, in time order, using the due time as the transition time. No
background thread, so a db file can be shared by separate processes.

Device pointers: `target_deployment_id` is the deployment the device is meant to run
(deployed or on its way; `parent_id` is compared with it), `live_deployment_id` the one
whose files are on the device, `current_release_id` the target's release.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from reconciler.emulator.agent_steps import deployment_row, device_row

BEHAVIOURS = ("ok", "fail", "retry", "slow")
SLOW_FACTOR = 10.0
MAX_DELAY = 365 * 86400.0  # an agent delay of up to a year (seeds and the admin PATCH)


def agent_delay(device: sqlite3.Row) -> float:
    factor = SLOW_FACTOR if device["behaviour"] == "slow" else 1.0
    return float(device["delay"]) * factor


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
    d = deployment_row(conn, deployment_id)
    dev = device_row(conn, d["device_id"])
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
    dev = device_row(conn, device_id)
    if dev["status"] != "online":
        return
    waiting = " AND next_at IS NULL" if only_waiting else ""
    conn.execute(
        "UPDATE deployments SET next_at = ? WHERE device_id = ? AND activity_status = 'queued' "
        "AND target_status = 'deployed'" + waiting,
        (at + agent_delay(dev), device_id),
    )


def set_agent(conn: sqlite3.Connection, device_id: str, fields: dict[str, Any], at: float) -> None:
    """Admin change of a device's agent/status; reschedules its waiting deployments."""
    dev = device_row(conn, device_id)
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
