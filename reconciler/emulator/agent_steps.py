"""The agents' side of the deployment state machine, applied lazily: every request first runs
`advance(now)`, which applies each transition that fell due (land, fail, retry, finish removing)
at its due time, and records the device events."""

from __future__ import annotations

import sqlite3

from reconciler.emulator.device_events import record_event
from reconciler.emulator.store import write


def device_row(conn: sqlite3.Connection, device_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM devices WHERE id = ?", (device_id,)).fetchone()
    assert row is not None, device_id
    return row


def deployment_row(conn: sqlite3.Connection, deployment_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM deployments WHERE id = ?", (deployment_id,)
    ).fetchone()
    assert row is not None, deployment_id
    return row


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
            release = deployment_row(conn, live)["release_id"]
        conn.execute(
            "UPDATE devices SET target_deployment_id = ?, current_release_id = ?, updated_at = ? "
            "WHERE id = ?",
            (live, release, at, dev["id"]),
        )


def _step(conn: sqlite3.Connection, d: sqlite3.Row, at: float) -> None:
    dev = device_row(conn, d["device_id"])
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
    first = "SELECT 1 FROM deployments WHERE next_at IS NOT NULL AND next_at <= ? LIMIT 1"
    if conn.execute(first, (now,)).fetchone() is None:
        return 0
    applied = 0
    with write(conn):
        while True:
            rows = conn.execute(due + " LIMIT 500", (now,)).fetchall()
            if not rows:
                break
            for row in rows:
                current = deployment_row(conn, row["id"])
                if current["next_at"] is None or current["next_at"] > now:
                    continue
                _step(conn, current, float(current["next_at"]))
                applied += 1
    return applied
