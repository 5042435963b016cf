"""Seed files (the entry points: load, load_file, parse, check): groups, config types, schemas, releases, devices (status, group, release and
deployed configs, agent), enrollment history. Validated by `schemas/seed.schema.json` and
loaded in one transaction (bulk inserts, so 10,000 devices load in about a second)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.emulator.errors import ApiError
from reconciler.emulator.seed.check import check, schema_path
from reconciler.emulator.seed.errors import SeedError
from reconciler.emulator.seed.text import locate, parse, read
from reconciler.emulator.seed.write import write_seed
from reconciler.emulator.store import write

__all__ = ["SeedError", "check", "load", "load_file", "locate", "parse", "read", "schema_path"]


def load_file(conn: sqlite3.Connection, path: str | Path, at: float) -> dict[str, int]:
    """Load a seed file; errors start with `file:line:col:` of the offending entry."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise SeedError(f"{path}: cannot read the seed file: {e.strerror}") from None
    try:
        return load(conn, parse(text), at, path.parent)
    except SeedError as e:
        where = locate(text, str(e))
        prefix = f"{path}:{where[0]}:{where[1]}" if where else str(path)
        raise SeedError(f"{prefix}: {e}") from None


def load(
    conn: sqlite3.Connection,
    data: Mapping[str, Any],
    at: float,
    base_dir: Path | None = None,
    *,
    allow_files: bool = True,
) -> dict[str, int]:
    """Validate and load a seed into the db (additive). Returns counts per kind.
    `allow_files=False` (seeds sent over HTTP) refuses `document_file`: the admin API must not
    read the server's files for whoever holds the (public, built-in) read-write key."""
    shapes = check(data)
    if not allow_files:
        for i, entry in enumerate(data.get("config_schemas") or []):
            if "document_file" in entry:
                raise SeedError(
                    f"config_schemas[{i}].document_file: not accepted over HTTP; "
                    "send the schema inline with `document` or `documents`"
                )
    try:
        with write(conn):
            return write_seed(conn, data, at, base_dir or Path.cwd(), shapes)
    except ApiError as e:
        raise SeedError(f"{e.message} ({json.dumps(e.params)})") from None
