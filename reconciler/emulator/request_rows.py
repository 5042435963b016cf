"""The request log's rows in the db: recorded (only the newest 200,000 kept), counted by route and
by status, read newest first, cleared."""

from __future__ import annotations

import sqlite3
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS emu_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    at TEXT NOT NULL
);
"""


MAX_ROWS = 200_000


def ensure_schema(conn: sqlite3.Connection) -> None:
    # Not executescript: it would commit whatever transaction the caller has open.
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def record(conn: sqlite3.Connection, method: str, route: str, path: str, status: int, at: str) -> None:
    cursor = conn.execute(
        "INSERT INTO emu_requests (method, route, path, status, at) VALUES (?, ?, ?, ?, ?)",
        (method, route, path, status, at),
    )
    row_id = cursor.lastrowid or 0
    if row_id % 1000 == 0:
        # A long-running served emulator keeps only the newest MAX_ROWS entries.
        conn.execute("DELETE FROM emu_requests WHERE id <= ?", (row_id - MAX_ROWS,))


def read_log(
    conn: sqlite3.Connection, path_prefix: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """Totals over the whole log (or the paths under `path_prefix`); `requests` lists the
    newest `limit` entries (all when None), oldest first."""
    where, params = (
        ("", []) if not path_prefix else ("WHERE path LIKE ? ESCAPE '\\'", [_like_prefix(path_prefix)])
    )
    by_route = _counts(conn, "method || ' ' || route", "method, route", where, params)
    by_status = _counts(conn, "CAST(status AS TEXT)", "status", where, params)
    rows = conn.execute(
        f"SELECT id, method, route, path, status, at FROM emu_requests {where} ORDER BY id DESC LIMIT ?",
        [*params, -1 if limit is None else limit],
    ).fetchall()
    requests = [
        {"id": r[0], "method": r[1], "route": r[2], "path": r[3], "status": r[4], "at": r[5]}
        for r in reversed(rows)
    ]
    return {
        "total": sum(by_route.values()),
        "by_route": by_route,
        "by_status": by_status,
        "requests": requests,
    }


def _counts(conn: sqlite3.Connection, key: str, group: str, where: str, params: list[str]) -> dict[str, int]:
    """Requests per `key`, in the order each key first appears in the log."""
    sql = f"SELECT {key}, COUNT(*) FROM emu_requests {where} GROUP BY {group} ORDER BY MIN(id)"
    return {str(k): n for k, n in conn.execute(sql, params)}


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def clear_log(conn: sqlite3.Connection) -> int:
    return conn.execute("DELETE FROM emu_requests").rowcount
