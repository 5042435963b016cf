"""What every platform resource shares: one row by id (404 when missing), rendering with the
`expand` values the resource supports, and the retrieve and list handlers (paging, comma-list
filters, enum filters, `order_by`, `expand=total_count`). The route modules describe their
resource once and keep only what is their own (creates, updates, rules)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse

from reconciler.emulator.errors import not_found
from reconciler.emulator.fields import opt_str
from reconciler.emulator.http import Ctx, ok
from reconciler.emulator.listing import Filter, list_page, new_filter, order_sql
from reconciler.emulator.store import write

Render = Callable[[sqlite3.Connection, Sequence[sqlite3.Row], Collection[str]], list[dict[str, Any]]]
BY_ID_AND_CREATION: Mapping[str, str] = {"id": "id", "created_at": "created_at"}


@dataclass(frozen=True)
class Resource:
    table: str
    what: str  # in messages: "device", "config schema"
    param: str  # the path parameter holding the id
    render: Render  # its expansions are views.EXPANSIONS[table]
    order: Mapping[str, str] = field(default_factory=lambda: BY_ID_AND_CREATION)  # order_by field -> column
    filters: tuple[str, ...] = ("id",)  # comma-list filters on the column of the same name
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # filters with known values

    def row(self, conn: sqlite3.Connection, ident: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            f"SELECT * FROM {self.table} WHERE id = ?", (ident,)
        ).fetchone()
        if row is None:
            raise not_found(self.what, ident)
        return row

    def expansions(self, ctx: Ctx) -> set[str]:
        """The request's `expand` (400 for a value the resource does not have). Handlers that
        write ask for it first, so a bad `expand` never follows a committed write."""
        return ctx.expand(self.table)

    def one(self, ctx: Ctx, row: sqlite3.Row, expand: Collection[str]) -> JSONResponse:
        return ok(self.render(ctx.conn, [row], expand)[0])

    def get(self, ctx: Ctx) -> JSONResponse:
        expand = self.expansions(ctx)
        return self.one(ctx, self.row(ctx.conn, ctx.path(self.param)), expand)

    def rename(self, ctx: Ctx, check: Callable[[sqlite3.Row, str], None] | None = None) -> JSONResponse:
        """PATCH `{name}` (the only mutable field of devices, groups and config types): `check`
        vets a changed name (uniqueness) inside the write transaction."""
        expand = self.expansions(ctx)
        name = opt_str(ctx.obj(), "name", nonempty=True)
        with write(ctx.conn):
            row = self.row(ctx.conn, ctx.path(self.param))
            if name is not None and name != row["name"]:
                if check is not None:
                    check(row, name)
                ctx.conn.execute(
                    f"UPDATE {self.table} SET name = ?, updated_at = ? WHERE id = ?",
                    (name, ctx.now, row["id"]),
                )
            row = self.row(ctx.conn, row["id"])
        return self.one(ctx, row, expand)

    def list(self, ctx: Ctx, flt: Filter | None = None) -> JSONResponse:
        """A page of the rows matching the query's filters (and `flt`, the caller's own)."""
        flt = new_filter() if flt is None else flt
        for column in self.filters:
            flt.any_of(column, ctx.values(column))
        for column, allowed in self.enums.items():
            flt.any_of(column, ctx.enum_values(column, allowed))
        return self.page(ctx, flt)

    def page(self, ctx: Ctx, flt: Filter) -> JSONResponse:
        """A page of the rows `flt` selects, ignoring query filters."""
        expand = ctx.expand(self.table, ("total_count",))
        return list_page(
            ctx,
            self.table,
            flt,
            order_sql(ctx, self.order),
            lambda rows: self.render(ctx.conn, rows, expand),
            "total_count" in expand,
        )
