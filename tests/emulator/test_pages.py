"""Offset pages served from cursors are exactly what SQL OFFSET returns, before and after writes."""

from __future__ import annotations

import sqlite3

from reconciler.emulator import pages


def _db(n: int) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE items (id TEXT PRIMARY KEY, created_at REAL NOT NULL, name TEXT)")
    conn.execute("CREATE INDEX items_order ON items (created_at, id)")
    conn.executemany(
        "INSERT INTO items VALUES (?, ?, ?)", [(f"i{k:05d}", float(k // 3), None) for k in range(n)]
    )
    return conn


def _ids(rows: list[sqlite3.Row]) -> list[str]:
    return [r["id"] for r in rows]


def _offset(conn: sqlite3.Connection, order: str, offset: int, count: int) -> list[str]:
    return _ids(
        conn.execute(f"SELECT * FROM items ORDER BY {order} LIMIT ? OFFSET ?", (count, offset)).fetchall()
    )


def test_pages_match_offset_and_use_cursors() -> None:
    conn, cache = _db(1000), pages.PageCache()
    order = "created_at DESC, id DESC"
    for offset in range(0, 1000, 100):
        got = _ids(pages.fetch(conn, cache, "items", "", [], order, offset, 101))
        assert got == _offset(conn, order, offset, 101)
    (cursors,) = cache.queries.values()
    assert cursors.offsets == list(range(100, 1001, 100))
    # A request between two cursors starts from the nearer one and skips the rest.
    assert _ids(pages.fetch(conn, cache, "items", "", [], order, 450, 11)) == _offset(conn, order, 450, 11)


def test_a_write_drops_the_cursors() -> None:
    conn, cache = _db(500), pages.PageCache()
    order = "created_at ASC, id ASC"
    for offset in (0, 100, 200):
        pages.fetch(conn, cache, "items", "", [], order, offset, 101)
    conn.execute("INSERT INTO items VALUES ('a-first', -1.0, NULL)")
    got = _ids(pages.fetch(conn, cache, "items", "", [], order, 300, 101))
    assert got == _offset(conn, order, 300, 101)
    conn.execute("DELETE FROM items WHERE id = 'i00001'")
    assert _ids(pages.fetch(conn, cache, "items", "", [], order, 300, 101)) == _offset(conn, order, 300, 101)


def test_filters_mixed_directions_and_nulls_stay_correct() -> None:
    conn, cache = _db(300), pages.PageCache()
    where, args = " WHERE created_at >= ?", [10.0]
    for offset in (0, 50, 100):
        got = _ids(pages.fetch(conn, cache, "items", where, args, "created_at ASC, id ASC", offset, 51))
        expected = conn.execute(
            f"SELECT id FROM items{where} ORDER BY created_at ASC, id ASC LIMIT 51 OFFSET ?", [*args, offset]
        ).fetchall()
        assert got == [r[0] for r in expected]
    mixed = "created_at DESC, id ASC"
    assert _ids(pages.fetch(conn, cache, "items", "", [], mixed, 100, 11)) == _offset(conn, mixed, 100, 11)
    by_name = "name ASC, id ASC"  # every name is NULL: no cursor can hold
    pages.fetch(conn, cache, "items", "", [], by_name, 0, 11)
    assert _ids(pages.fetch(conn, cache, "items", "", [], by_name, 10, 11)) == _offset(conn, by_name, 10, 11)
    assert all(not c.offsets for q, c in cache.queries.items() if q[3] == by_name)
