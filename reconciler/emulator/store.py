"""SQLite storage for the emulator: connections, the schema created (`tables`), write
transactions, an admin reset. Ids are made in `ids`, timestamps written in `times`.

One connection per app instance. Handlers run their SQL synchronously (no await inside a
transaction), so requests in one process are serialized; separate processes over one file
are kept safe by `BEGIN IMMEDIATE` (the write lock is taken before anything is read) and WAL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.pages import PageCache
from reconciler.emulator.tables import DATA_TABLES, SCHEMA, SCHEMA_VERSION

BUILTIN_KEYS: Mapping[str, str] = {"emulator-local-rw": "rw", "emulator-local-ro": "ro"}


@dataclass
class Store:
    """What every handler needs: the connection and the configured API keys.
    `resets` clear the state of the optional parts (fault rules, request log) on an admin reset."""

    conn: sqlite3.Connection
    path: str
    api_keys: Mapping[str, frozenset[str]]  # key -> scopes (the server's keys; the db may hold more)
    lock: threading.RLock = field(default_factory=threading.RLock)
    resets: list[Callable[[sqlite3.Connection], None]] = field(default_factory=list)
    pages: PageCache = field(default_factory=PageCache)  # cursors that spare OFFSET scans


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def initialize(conn: sqlite3.Connection, clock_mode: str) -> bool:
    """Create the schema if missing. Returns True when the db was new (never initialized)."""
    with write(conn):
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        new = (
            exists is None
            or conn.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is None
        )
        if new:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [("schema_version", SCHEMA_VERSION), ("clock_mode", clock_mode), ("clock_offset", "0")],
            )
    return new


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the db write lock first (safe across processes).
    Re-entrant: a nested call joins the outer transaction."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def reset(conn: sqlite3.Connection) -> None:
    """Empty the platform data, forget the seed's enrollment access, rewind the clock offset.
    Event ids keep increasing (AUTOINCREMENT): a consumer's `after` never skips new events."""
    with write(conn):
        for table in DATA_TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM meta WHERE key = 'enrollment'")
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'clock_offset'")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


def row_dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None
