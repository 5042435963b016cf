"""What every view uses: rows fetched by id in chunks, the expansions nested under a field, and
the expanded objects of a field rendered by id."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

Row = sqlite3.Row
Render = Callable[[sqlite3.Connection, Sequence[Row], Collection[str]], list[dict[str, Any]]]


def sub(expand: Collection[str], field: str) -> set[str]:
    """The expansions nested under `field`: {"release.config_schemas"} -> {"config_schemas"}."""
    prefix = field + "."
    return {e[len(prefix) :] for e in expand if e.startswith(prefix)}


def by_id(conn: sqlite3.Connection, table: str, ids: Iterable[str | None]) -> dict[str, Row]:
    wanted = sorted({i for i in ids if i})
    out: dict[str, Row] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(f"SELECT * FROM {table} WHERE id IN ({marks})", chunk):
            out[row["id"]] = row
    return out


def expanded(
    conn: sqlite3.Connection, table: str, ids: Iterable[str | None], render: Render, expand: Collection[str]
) -> dict[str, dict[str, Any]]:
    """The rows of `table` with these ids, rendered (with `expand`), by id."""
    return {x["id"]: x for x in render(conn, list(by_id(conn, table, ids).values()), expand)}
