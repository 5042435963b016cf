"""The emulator clock, stored in the db so every app instance and process over one file agrees.

"real": wall time plus an offset (tick moves it forward). "manual": starts at
2026-01-01T00:00:00Z and moves only by tick, so tests never sleep.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

from reconciler.emulator.store import write
from reconciler.emulator.times import iso_required

MANUAL_EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
MODES = ("real", "manual")
LATEST = datetime(9999, 1, 1, tzinfo=UTC).timestamp()


def mode(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key = 'clock_mode'").fetchone()
    return str(row[0]) if row else "real"


def offset(conn: sqlite3.Connection) -> float:
    row = conn.execute("SELECT value FROM meta WHERE key = 'clock_offset'").fetchone()
    return float(row[0]) if row else 0.0


def now(conn: sqlite3.Connection) -> float:
    base = MANUAL_EPOCH if mode(conn) == "manual" else time.time()
    return base + offset(conn)


def tick(conn: sqlite3.Connection, seconds: float) -> float:
    """Advance the clock; returns the new time. The clock never goes backwards, nor past
    the year 9999 (timestamps must stay printable)."""
    if not 0 <= seconds < LATEST - now(conn):
        raise ValueError(f"seconds must be >= 0 and keep the clock before {iso_required(LATEST)}")
    with write(conn):
        conn.execute("UPDATE meta SET value = ? WHERE key = 'clock_offset'", (repr(offset(conn) + seconds),))
    return now(conn)


def describe(conn: sqlite3.Connection) -> dict[str, object]:
    t = now(conn)
    return {"mode": mode(conn), "now": iso_required(t), "epoch": t, "offset": offset(conn)}
