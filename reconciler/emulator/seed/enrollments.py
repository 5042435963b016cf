"""The seed's enrollment history: one row per enrollment attempt of a device."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from reconciler.emulator.ids import new_id
from reconciler.emulator.seed.errors import SeedError


def enrollments(conn: sqlite3.Connection, entries: list[dict[str, Any]]) -> int:
    rows = []
    for i, e in enumerate(entries):
        dev = conn.execute(
            "SELECT id FROM devices WHERE name = ? OR id = ?", (e["device"], e["device"])
        ).fetchone()
        if dev is None:
            raise SeedError(f"enrollments[{i}].device: unknown device {e['device']!r}")
        date = str(e["enrollment_date"])
        logs = e.get("error_logs") if e["status"] == "error" else None
        created = str(e.get("created_at") or date)
        rows.append(
            (
                e.get("id") or new_id("enr"),
                dev["id"],
                e["status"],
                date,
                e.get("enrollment_token_id"),
                e.get("user_id"),
                json.dumps(logs) if logs is not None else None,
                created,
                str(e.get("updated_at") or created),
            )
        )
    conn.executemany("INSERT INTO enrollments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
