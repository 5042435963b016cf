"""List endpoints: the page window (`offset`, `limit`, clamped), `order_by` with its tie-break,
filters as SQL, and the list envelope."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

from reconciler.emulator import pages, platform
from reconciler.emulator.errors import invalid
from reconciler.emulator.http import Ctx
from reconciler.emulator.json_response import FastJSONResponse

DEFAULT_LIMIT = 10


MAX_LIMIT = 100


MAX_OFFSET = 2**62  # SQLite integers are 64-bit: a larger offset is clamped, not a 500


def _int_param(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer", param=name) from None


def page_window(ctx: Ctx) -> tuple[int, int]:
    """(offset, limit) with out-of-range values clamped: limit to 1..100, offset to 0..2**62."""
    limit = min(MAX_LIMIT, max(1, _int_param(ctx, "limit", DEFAULT_LIMIT)))
    offset = min(MAX_OFFSET, max(0, _int_param(ctx, "offset", 0)))
    return offset, limit


def order_sql(ctx: Ctx, allowed: Mapping[str, str], default: str = "created_at:desc", table: str = "") -> str:
    """ORDER BY for `order_by` (comma list of `field[:dir]`), as the docs' sorting page says: the
    direction defaults to descending, and `id` breaks ties unless `id` is already a sort field,
    so paging never duplicates or skips rows that share a sort value. The docs break ties by id
    ascending (`sort_ties: id_asc`); the default keeps the last key's direction, which the
    product still relies on (docs/emulator.md, platform switches)."""
    specs = ctx.values("order_by") or [default]
    prefix = f"{table}." if table else ""
    parts: list[str] = []
    used: set[str] = set()
    for spec in specs:
        field, _, direction = spec.partition(":")
        direction = direction or "desc"
        if field not in allowed or direction not in ("asc", "desc"):
            raise invalid(
                f"unknown order_by value {spec!r}",
                param="order_by",
                allowed=[f"{f}:{d}" for f in allowed for d in ("asc", "desc")],
            )
        if field in used:
            continue
        used.add(field)
        parts.append(f"{prefix}{allowed[field]} {direction.upper()}")
    if "id" not in used:
        if platform.current().sort_ties == "id_asc":
            parts.append(f"{prefix}id ASC")
        else:
            parts.append(f"{prefix}id {(specs[-1].partition(':')[2] or 'desc').upper()}")
    return ", ".join(parts)


@dataclass
class Filter:
    where: list[str]
    args: list[Any]

    def any_of(self, column: str, values: Sequence[str]) -> None:
        if values:
            self.where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            self.args.extend(values)

    def add(self, clause: str, *args: Any) -> None:
        self.where.append(clause)
        self.args.extend(args)

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.where)) if self.where else ""


def new_filter() -> Filter:
    return Filter([], [])


def list_page(
    ctx: Ctx,
    table: str,
    flt: Filter,
    order: str,
    render: Callable[[list[sqlite3.Row]], list[dict[str, Any]]],
    total_count: bool,
) -> JSONResponse:
    offset, limit = page_window(ctx)
    rows = pages.fetch(ctx.conn, ctx.store.pages, table, flt.sql(), flt.args, order, offset, limit + 1)
    has_more = len(rows) > limit
    body: dict[str, Any] = {"object": "list", "limit": limit, "offset": offset, "has_more": has_more}
    if total_count:
        body["total_count"] = ctx.conn.execute(
            f"SELECT COUNT(*) FROM {table}{flt.sql()}", flt.args
        ).fetchone()[0]
    body["data"] = render(list(rows[:limit]))
    return FastJSONResponse(body)
