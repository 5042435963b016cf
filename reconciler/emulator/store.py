"""SQLite storage for the emulator: schema, connections, write transactions, ids, times.

One connection per app instance. Handlers run their SQL synchronously (no await inside a
transaction), so requests in one process are serialized; separate processes over one file
are kept safe by `BEGIN IMMEDIATE` (the write lock is taken before anything is read) and WAL.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator import platform
from reconciler.emulator.pages import PageCache

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, parent_id TEXT,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS groups_order ON groups (created_at, id);
CREATE TABLE IF NOT EXISTS config_types (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL UNIQUE,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS config_schemas (
  id TEXT PRIMARY KEY, config_type_id TEXT NOT NULL, digest TEXT NOT NULL,
  language TEXT NOT NULL, format TEXT NOT NULL, instance_format TEXT NOT NULL,
  slots TEXT NOT NULL, documents TEXT NOT NULL, label TEXT,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS config_schemas_digest ON config_schemas (config_type_id, digest);
CREATE TABLE IF NOT EXISTS releases (
  id TEXT PRIMARY KEY, version TEXT NOT NULL UNIQUE, git_commit_id TEXT,
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS release_schemas (
  release_id TEXT NOT NULL, config_schema_id TEXT NOT NULL, position INTEGER NOT NULL,
  PRIMARY KEY (release_id, config_schema_id));
CREATE TABLE IF NOT EXISTS config_instances (
  id TEXT PRIMARY KEY, config_schema_id TEXT NOT NULL, config_type_id TEXT NOT NULL,
  slot_key TEXT NOT NULL, filepath TEXT NOT NULL, format TEXT NOT NULL, data TEXT NOT NULL,
  created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS config_instances_order ON config_instances (created_at, id);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,
  status TEXT NOT NULL, agent_version TEXT, group_id TEXT,
  last_connected_at REAL, last_disconnected_at REAL,
  created_at REAL NOT NULL, updated_at REAL NOT NULL,
  target_deployment_id TEXT, live_deployment_id TEXT, current_release_id TEXT,
  behaviour TEXT NOT NULL DEFAULT 'ok', delay REAL NOT NULL DEFAULT 1.0);
CREATE INDEX IF NOT EXISTS devices_order ON devices (created_at, id);
CREATE INDEX IF NOT EXISTS devices_status ON devices (status, id);
CREATE INDEX IF NOT EXISTS devices_group ON devices (group_id);
CREATE TABLE IF NOT EXISTS deployments (
  id TEXT PRIMARY KEY, device_id TEXT NOT NULL, release_id TEXT NOT NULL,
  description TEXT NOT NULL, parent_id TEXT,
  target_status TEXT NOT NULL, activity_status TEXT NOT NULL, error_status TEXT NOT NULL,
  queued_at REAL, deployed_at REAL, archived_at REAL,
  created_at REAL NOT NULL, updated_at REAL NOT NULL,
  next_at REAL, replaced_id TEXT);
CREATE INDEX IF NOT EXISTS deployments_order ON deployments (created_at, id);
CREATE INDEX IF NOT EXISTS deployments_device ON deployments (device_id);
CREATE INDEX IF NOT EXISTS deployments_due ON deployments (next_at) WHERE next_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS deployment_instances (
  deployment_id TEXT NOT NULL, config_instance_id TEXT NOT NULL, position INTEGER NOT NULL,
  PRIMARY KEY (deployment_id, config_instance_id));
CREATE TABLE IF NOT EXISTS git_commits (
  id TEXT PRIMARY KEY, sha TEXT NOT NULL, message TEXT NOT NULL,
  repository_owner TEXT NOT NULL, repository_name TEXT NOT NULL, repository_type TEXT NOT NULL,
  repository_url TEXT NOT NULL, commit_url TEXT NOT NULL, created_at REAL NOT NULL);
-- Device events in the platform's event envelope, ids increasing (served under /_emulator).
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, type TEXT NOT NULL,
  occurred_at REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_device ON events (device_id, id);
-- Enrollment history (the enrollment service's records), loaded from seeds, served under /v2.
CREATE TABLE IF NOT EXISTS enrollments (
  id TEXT PRIMARY KEY, device_id TEXT NOT NULL, status TEXT NOT NULL,
  enrollment_date TEXT NOT NULL, enrollment_token_id TEXT, user_id TEXT, error_logs TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS enrollments_device ON enrollments (device_id);
"""

# Tables emptied by an admin reset (meta keeps the clock mode).
DATA_TABLES = (
    "groups",
    "config_types",
    "config_schemas",
    "releases",
    "release_schemas",
    "config_instances",
    "devices",
    "deployments",
    "deployment_instances",
    "git_commits",
    "events",
    "enrollments",
)

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


_id_lock = threading.Lock()
_last_ns = 0


def new_id(prefix: str) -> str:
    """`<prefix>_<24 hex>`: a monotonic time part then randomness, so sorting by id is
    sorting by creation (a stable tie-break for equal timestamps under a manual clock); with
    the `ids: random` switch, 24 random hex digits, as real ids carry no order."""
    if platform.current().ids == "random":
        return f"{prefix}_{secrets.token_hex(12)}"
    global _last_ns
    with _id_lock:
        _last_ns = max(_last_ns + 1, time.time_ns())
        ns = _last_ns
    return f"{prefix}_{ns:016x}{secrets.token_hex(4)}"


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` ids as `new_id` makes them, drawn at once (seeding 100,000 devices)."""
    if platform.current().ids == "random":
        noise = secrets.token_hex(12 * count)
        return [f"{prefix}_{noise[24 * k : 24 * k + 24]}" for k in range(count)]
    global _last_ns
    with _id_lock:
        first = max(_last_ns + 1, time.time_ns())
        _last_ns = first + count - 1
    noise = secrets.token_hex(4 * count)
    return [f"{prefix}_{first + k:016x}{noise[8 * k : 8 * k + 8]}" for k in range(count)]


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    precision = platform.current().timestamps
    if precision == "auto":
        spec = "seconds" if moment.microsecond == 0 else "microseconds"
    else:
        spec = {"seconds": "seconds", "milliseconds": "milliseconds", "microseconds": "microseconds"}[
            precision
        ]
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def iso_required(ts: float) -> str:
    text = iso(ts)
    assert text is not None
    return text


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


def row_dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None
