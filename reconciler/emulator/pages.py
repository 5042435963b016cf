"""Offset paging without scanning the skipped rows. The API pages by `offset`/`limit` (as the
platform does), but SQL `OFFSET n` steps over n index entries: at 100,000 devices the last page
cost about six times the first. Each served page leaves a cursor (the sort values of its last
row) keyed by the query and the page's end offset; a later request at or after that offset
starts from the nearest cursor with a keyset condition and skips only the rows in between.

Cursors hold only while the rows are unchanged: temporary triggers on this connection count
every write to a listed table, and `PRAGMA data_version` moves when another connection
(another process on the db file) commits; either change drops the query's cursors, so a page
is always what `OFFSET` would have returned."""

from __future__ import annotations

import bisect
import sqlite3
from dataclasses import dataclass, field
from typing import Any

MAX_QUERIES = 64  # distinct queries whose cursors are kept (oldest dropped first)
MAX_CURSORS = 20_000  # per query: 2,000,000 rows in pages of 100

enabled = True  # the benchmark switches this off to measure plain OFFSET side by side


@dataclass
class Cursors:
    version: tuple[int, int]
    offsets: list[int] = field(default_factory=list)
    keys: dict[int, tuple[Any, ...]] = field(default_factory=dict)


@dataclass
class PageCache:
    queries: dict[tuple[Any, ...], Cursors] = field(default_factory=dict)
    watched: set[str] = field(default_factory=set)


def _watch(conn: sqlite3.Connection, cache: PageCache, table: str) -> None:
    if table in cache.watched:
        return
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS page_generation (n INTEGER NOT NULL)")
    if conn.execute("SELECT 1 FROM temp.page_generation").fetchone() is None:
        conn.execute("INSERT INTO temp.page_generation VALUES (0)")
    for op in ("INSERT", "UPDATE", "DELETE"):
        conn.execute(
            f"CREATE TEMP TRIGGER IF NOT EXISTS page_generation_{table}_{op.lower()} AFTER {op} "
            f"ON main.{table} BEGIN UPDATE page_generation SET n = n + 1; END"
        )
    cache.watched.add(table)


def _version(conn: sqlite3.Connection) -> tuple[int, int]:
    other = conn.execute("PRAGMA data_version").fetchone()[0]
    own = conn.execute("SELECT n FROM temp.page_generation").fetchone()[0]
    return int(other), int(own)


def _sort_keys(order: str) -> tuple[list[str], str] | None:
    """The sort expressions and their common direction; None when directions are mixed
    (a row-value comparison needs one direction)."""
    exprs: list[str] = []
    directions: set[str] = set()
    for part in order.split(","):
        expr, _, direction = part.strip().rpartition(" ")
        exprs.append(expr)
        directions.add(direction.upper())
    if len(directions) != 1 or not directions <= {"ASC", "DESC"}:
        return None
    return exprs, directions.pop()


def fetch(
    conn: sqlite3.Connection,
    cache: PageCache,
    table: str,
    where: str,
    args: list[Any],
    order: str,
    offset: int,
    count: int,
) -> list[sqlite3.Row]:
    """`SELECT * FROM table WHERE … ORDER BY order LIMIT count OFFSET offset`, served from the
    nearest cursor at or before `offset` when one is still valid."""
    keys = _sort_keys(order) if enabled else None
    plain = f"SELECT * FROM {table}{where} ORDER BY {order} LIMIT ? OFFSET ?"
    if keys is None:
        return conn.execute(plain, [*args, count, offset]).fetchall()
    exprs, direction = keys
    _watch(conn, cache, table)
    query = (table, where, tuple(args), order)
    version = _version(conn)
    cursors = cache.queries.pop(query, None)
    if cursors is None or cursors.version != version:
        cursors = Cursors(version)
    cache.queries[query] = cursors  # most recently used last
    while len(cache.queries) > MAX_QUERIES:
        del cache.queries[next(iter(cache.queries))]
    at = bisect.bisect_right(cursors.offsets, offset) - 1
    if at >= 0:
        start = cursors.offsets[at]
        values = cursors.keys[start]
        cmp = ">" if direction == "ASC" else "<"
        marks = ", ".join("?" for _ in exprs)
        keyset = f"({', '.join(exprs)}) {cmp} ({marks})"
        clause = f"{where} AND {keyset}" if where else f" WHERE {keyset}"
        rows = conn.execute(
            f"SELECT * FROM {table}{clause} ORDER BY {order} LIMIT ? OFFSET ?",
            [*args, *values, count, offset - start],
        ).fetchall()
    else:
        rows = conn.execute(plain, [*args, count, offset]).fetchall()
    _remember(conn, cursors, table, exprs, offset, rows, count)
    return rows


def _remember(
    conn: sqlite3.Connection,
    cursors: Cursors,
    table: str,
    exprs: list[str],
    offset: int,
    rows: list[sqlite3.Row],
    count: int,
) -> None:
    # The page the client sees is rows[:count - 1] (one extra row tells has_more).
    shown = rows[: max(0, count - 1)]
    # sqlite3.Row `in` tests values, not column names: keys() is needed.
    if not shown or "id" not in shown[-1].keys() or len(cursors.offsets) >= MAX_CURSORS:  # noqa: SIM118
        return
    end = offset + len(shown)
    if end in cursors.keys:
        return
    found = conn.execute(
        f"SELECT {', '.join(exprs)} FROM {table} WHERE id = ?", (shown[-1]["id"],)
    ).fetchone()
    if found is None or any(v is None for v in found):
        return  # NULLs do not compare in a row value: this query stays on OFFSET
    bisect.insort(cursors.offsets, end)
    cursors.keys[end] = tuple(found)
