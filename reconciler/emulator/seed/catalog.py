"""The seed's catalog: groups (parents before children), config types and releases (their
schemas named `<config type slug>@<version>`). Each returns the ids later entries refer to."""

from __future__ import annotations

import sqlite3
from typing import Any

from reconciler.emulator.routes_config_types import create_type
from reconciler.emulator.routes_groups import create_group
from reconciler.emulator.routes_releases import create_release
from reconciler.emulator.seed.errors import SeedError, entry


def groups(conn: sqlite3.Connection, entries: list[dict[str, Any]], at: float) -> dict[str, str]:
    by_name: dict[str, str] = {}
    ambiguous: set[str] = set()
    for row in conn.execute("SELECT id, name FROM groups"):
        if row["name"] in by_name:
            ambiguous.add(row["name"])
        by_name[row["name"]] = row["id"]
    for i, g in enumerate(entries):
        parent = g.get("parent")
        parent_id = None
        if parent is not None:
            if parent not in by_name or parent in ambiguous:
                raise SeedError(
                    f"groups[{i}]: unknown or ambiguous parent group {parent!r} "
                    "(list parents before children)"
                )
            parent_id = by_name[parent]
        if g["name"] in by_name:
            ambiguous.add(g["name"])
        with entry("groups", i):
            by_name[g["name"]] = create_group(conn, g["name"], parent_id, at)["id"]
    return {k: v for k, v in by_name.items() if k not in ambiguous}


def config_types(
    conn: sqlite3.Connection, entries: list[dict[str, Any]], at: float
) -> dict[str, sqlite3.Row]:
    types = {r["slug"]: r for r in conn.execute("SELECT * FROM config_types")}
    for i, t in enumerate(entries):
        if t["slug"] in types:
            raise SeedError(f"config_types[{i}]: slug {t['slug']!r} already exists")
        with entry("config_types", i):
            types[t["slug"]] = create_type(conn, t.get("name") or t["slug"], t["slug"], at)
    return types


def releases(
    conn: sqlite3.Connection, entries: list[dict[str, Any]], schemas: dict[str, str], at: float
) -> dict[str, str]:
    """Release version -> id, of the db's releases and the seed's."""
    out: dict[str, str] = {r["version"]: r["id"] for r in conn.execute("SELECT id, version FROM releases")}
    for i, r in enumerate(entries):
        ids = []
        for ref in r.get("schemas") or []:
            if ref not in schemas:
                raise SeedError(
                    f"releases[{i}].schemas: unknown config schema {ref!r} "
                    f"(use <config type slug>@<version> of a config_schemas entry)"
                )
            ids.append(schemas[ref])
        with entry("releases", i):
            out[r["version"]] = create_release(conn, r["version"], ids, at)["id"]
    return out
