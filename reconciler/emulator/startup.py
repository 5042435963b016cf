"""Opening the emulator's db: the API keys resolved, then the schema (with the optional parts'
tables), the platform switches from the environment and the seed in one transaction."""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Collection, Mapping
from pathlib import Path
from types import ModuleType

from reconciler.emulator import clock as clock_mod
from reconciler.emulator import platform as platform_mod
from reconciler.emulator import scopes, store
from reconciler.emulator import seed as seed_mod

OPTIONAL_MODULES = ("requestlog", "faults", "events", "enrollment", "routes_probe")


def optional(module: str) -> ModuleType | None:
    name = f"reconciler.emulator.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name == name:
            return None
        raise


def open_store(
    db: str,
    seed_file: str | Path | None,
    api_keys: Mapping[str, str | Collection[str]] | None,
    clock_mode: str,
) -> store.Store:
    if clock_mode not in clock_mod.MODES:
        raise ValueError(f"clock must be one of {', '.join(clock_mod.MODES)}, not {clock_mode!r}")
    given = api_keys if api_keys is not None else store.BUILTIN_KEYS
    try:
        keys = {key: scopes.resolve(spec) for key, spec in given.items()}
    except scopes.ScopeError as e:
        raise ValueError(f"api_keys: {e}") from None
    conn = store.connect(db)
    try:
        # Schema and seed in one transaction: a bad seed leaves the db new, not half-seeded.
        with store.write(conn):
            _create(conn, clock_mode, seed_file)
    except BaseException:
        conn.close()
        raise
    return store.Store(conn=conn, path=db, api_keys=keys)


def _create(conn: sqlite3.Connection, clock_mode: str, seed_file: str | Path | None) -> None:
    """The tables (a new db also takes the environment's platform switches and the seed)."""
    created = store.initialize(conn, clock_mode)
    scopes.ensure_schema(conn)
    if created:
        overrides = platform_mod.from_env()
        if overrides:
            platform_mod.save(conn, platform_mod.merged(platform_mod.DEFAULT, overrides))
    for name in OPTIONAL_MODULES:
        module = optional(name)
        if module is not None and hasattr(module, "ensure_schema"):
            module.ensure_schema(conn)
    if created and seed_file is not None:
        seed_mod.load_file(conn, seed_file, clock_mod.now(conn))
