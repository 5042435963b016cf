"""Writing a checked seed into the db, in dependency order: the platform's switches and API keys,
then groups, config types, schemas and releases, then devices and their enrollment history."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.emulator import platform, scopes
from reconciler.emulator.seed.catalog import config_types, groups, releases
from reconciler.emulator.seed.devices import devices
from reconciler.emulator.seed.enrollments import enrollments
from reconciler.emulator.seed.errors import SeedError
from reconciler.emulator.seed.schemas import schemas


def write_seed(
    conn: sqlite3.Connection, data: Mapping[str, Any], at: float, base: Path, shapes: list[str]
) -> dict[str, int]:
    if data.get("platform") is not None:
        # The environment's switches win: the test suite runs a seed under another reading.
        try:
            settings = platform.merged(platform.load(conn), {**data["platform"], **platform.from_env()})
        except platform.PlatformError as e:
            raise SeedError(f"platform: {e}") from None
        platform.save(conn, settings)
    for i, k in enumerate(data.get("api_keys") or []):
        scopes.add_key(conn, k["key"], k.get("name") or f"seed key {i}", frozenset(k["scopes"]))
    with platform.active(platform.load(conn)):
        return _write_data(conn, data, at, base, shapes)


def _write_data(
    conn: sqlite3.Connection, data: Mapping[str, Any], at: float, base: Path, shapes: list[str]
) -> dict[str, int]:
    by_name = groups(conn, data.get("groups") or [], at)
    types = config_types(conn, data.get("config_types") or [], at)
    schema_ids = schemas(conn, data.get("config_schemas") or [], types, at, base)
    release_ids = releases(conn, data.get("releases") or [], schema_ids, at)
    n_devices = devices(conn, data.get("devices") or [], shapes, by_name, release_ids, at)
    n_enrollments = enrollments(conn, data.get("enrollments") or [])
    if data.get("enrollment") is not None:  # the enrollment service: client id and tokens
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('enrollment', ?)",
            (json.dumps(data["enrollment"]),),
        )
    return {
        "groups": len(data.get("groups") or []),
        "config_types": len(data.get("config_types") or []),
        "config_schemas": len(data.get("config_schemas") or []),
        "releases": len(data.get("releases") or []),
        "devices": n_devices,
        "enrollments": n_enrollments,
    }
