"""Switches for the behaviours Miru's docs leave open, so the product can be tested under each
reading. Stored in the db (`meta.platform`), set by a seed's `platform:` section, the admin
API (`POST /_emulator/platform`) or, for a new db, the `RECONCILE_EMULATOR_PLATFORM`
environment variable (JSON), which the test suite uses to run its scenarios under another
reading. The defaults are the emulator's historical behaviour.

Handlers read the settings through a context variable set for each request (and for seed
loading), so id and timestamp helpers deep in the store need no extra argument."""

from __future__ import annotations

import contextvars
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

ENV = "RECONCILE_EMULATOR_PLATFORM"
CHOICES: Mapping[str, tuple[str, ...]] = {
    # A device with no current release: may its first deployment be created `deployed`?
    "first_deploy": ("deployed", "staged_only"),
    # When a device's current release/deployment (as reported, filtered and checked) switches:
    # when the deployment is created or deployed (`create`), or when the agent confirms it (`confirm`).
    "current_switch": ("create", "confirm"),
    # Ids: time-ordered (sorting by id sorts by creation) or random.
    "ids": ("time_ordered", "random"),
    # Ties in `order_by` broken by id in the last key's direction (historical: with time-ordered
    # ids, `created_at:desc` lists same-second rows newest first), or by id ascending (the docs).
    "sort_ties": ("id_last_direction", "id_asc"),
    # Timestamps in answers: `auto` (seconds, or microseconds when there is a fraction).
    "timestamps": ("auto", "seconds", "milliseconds", "microseconds"),
    # Git commits: may two share a `sha` (the spec does not say), or is a second one a 409?
    "git_commit_sha": ("repeatable", "unique"),
}


@dataclass(frozen=True)
class Settings:
    first_deploy: str = "deployed"
    current_switch: str = "create"
    ids: str = "time_ordered"
    sort_ties: str = "id_last_direction"
    timestamps: str = "auto"
    git_commit_sha: str = "repeatable"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


DEFAULT = Settings()
_current: contextvars.ContextVar[Settings] = contextvars.ContextVar("emulator_platform", default=DEFAULT)


class PlatformError(ValueError):
    pass


def merged(base: Settings, changes: Mapping[str, Any]) -> Settings:
    """`base` with `changes` applied; unknown switches or values raise PlatformError."""
    if not isinstance(changes, Mapping):
        raise PlatformError("platform must be a mapping of switch -> value")
    unknown = sorted(set(changes) - set(CHOICES))
    if unknown:
        raise PlatformError(
            f"unknown platform switch(es): {', '.join(unknown)} (known: {', '.join(CHOICES)})"
        )
    for name, value in changes.items():
        if value not in CHOICES[name]:
            raise PlatformError(f"platform.{name} must be one of {', '.join(CHOICES[name])}, not {value!r}")
    return replace(base, **dict(changes))


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    raw = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise PlatformError(f"{ENV} is not JSON: {raw[:80]!r}") from None
    try:
        merged(DEFAULT, value)
    except PlatformError as e:
        raise PlatformError(f"{ENV}: {e}") from None
    return dict(value)


def load(conn: sqlite3.Connection) -> Settings:
    row = conn.execute("SELECT value FROM meta WHERE key = 'platform'").fetchone()
    if row is None:
        return DEFAULT
    return merged(DEFAULT, json.loads(row[0]))


def save(conn: sqlite3.Connection, settings: Settings) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('platform', ?)", (json.dumps(settings.as_dict()),)
    )


def current() -> Settings:
    return _current.get()


@contextmanager
def active(settings: Settings) -> Iterator[None]:
    token = _current.set(settings)
    try:
        yield
    finally:
        _current.reset(token)


def device_current(conn: sqlite3.Connection, device: sqlite3.Row) -> tuple[str | None, str | None]:
    """(current deployment id, current release id) of a device under the active reading."""
    if current().current_switch == "create":
        return device["target_deployment_id"], device["current_release_id"]
    live = device["live_deployment_id"]
    if not live:
        return None, None
    row = conn.execute("SELECT release_id FROM deployments WHERE id = ?", (live,)).fetchone()
    return live, (row[0] if row else None)
