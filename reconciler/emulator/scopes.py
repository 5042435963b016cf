"""API keys and scopes, as Miru's authorization page describes them: a key holds any set of
`resource:action` scopes; `write` does not include `read`; `manage` includes every scope of its
resource. The built-in keys keep their meaning (read-write = every scope, read-only = every
read scope). Keys from the seed or the admin API live in the db, so every process serving it
accepts them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Mapping

RESOURCES: Mapping[str, tuple[str, ...]] = {
    "config_instances": ("read", "write", "manage"),
    "config_schemas": ("read", "write", "manage"),
    "config_types": ("read", "write", "manage"),
    "deployments": ("read", "write", "stage", "deploy", "remove", "archive", "manage"),
    "devices": ("read", "provision", "write", "delete", "manage"),
    "git_commits": ("read", "write", "manage"),
    "groups": ("read", "write", "manage"),
    "provisioning_tokens": ("write", "manage"),
    "releases": ("read", "write", "manage"),
}
ALL_SCOPES: frozenset[str] = frozenset(f"{r}:{a}" for r, actions in RESOURCES.items() for a in actions)
READ_SCOPES: frozenset[str] = frozenset(s for s in ALL_SCOPES if s.endswith(":read"))
# The emulator's own API (/_emulator/...): not a Miru scope; the built-in read-write key has it.
ADMIN = "emulator:admin"
ROLES: Mapping[str, frozenset[str]] = {"rw": ALL_SCOPES | {ADMIN}, "ro": READ_SCOPES}


class ScopeError(ValueError):
    pass


def resolve(spec: str | Iterable[str]) -> frozenset[str]:
    """A key's scopes from a role name (`rw`, `ro`) or a list of scopes (unknown ones refused)."""
    if isinstance(spec, str):
        if spec not in ROLES:
            raise ScopeError(f"unknown role {spec!r} (rw, ro, or a list of scopes)")
        return ROLES[spec]
    scopes = frozenset(spec)
    unknown = sorted(scopes - ALL_SCOPES - {ADMIN})
    if unknown:
        raise ScopeError(f"unknown scope(s): {', '.join(unknown)}")
    return scopes


def has(scopes: Collection[str], needed: str) -> bool:
    """`needed` held directly or through its resource's `manage` scope."""
    resource = needed.partition(":")[0]
    return needed in scopes or f"{resource}:manage" in scopes


def missing(scopes: Collection[str], needed: Iterable[str]) -> list[str]:
    return [s for s in needed if not has(scopes, s)]


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS api_keys (key TEXT PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL)"
    )


def add_key(conn: sqlite3.Connection, key: str, name: str, scopes: frozenset[str]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO api_keys (key, name, scopes) VALUES (?, ?, ?)",
        (key, name, json.dumps(sorted(scopes))),
    )


def stored_key(conn: sqlite3.Connection, key: str) -> tuple[str, frozenset[str]] | None:
    row = conn.execute("SELECT name, scopes FROM api_keys WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    return str(row["name"]), frozenset(json.loads(row["scopes"]))


def list_keys(conn: sqlite3.Connection) -> list[dict[str, object]]:
    """Names and scopes only: a key is a secret even in the emulator's own answers."""
    return [
        {"name": r["name"], "scopes": json.loads(r["scopes"])}
        for r in conn.execute("SELECT name, scopes FROM api_keys ORDER BY name")
    ]
