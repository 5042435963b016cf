"""One request as a handler sees it (`Ctx`: path, query values, expansions, the body). Errors are
in `errors`, auth in `auth`, wrapping handlers as endpoints in `endpoint`, lists in `listing`,
body fields in `fields`.

Handlers are plain functions `(Ctx) -> Response` run synchronously under the store lock:
no await happens inside a transaction, so each request is atomic within a process.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconciler.emulator import views
from reconciler.emulator.auth import check_scopes
from reconciler.emulator.errors import invalid
from reconciler.emulator.json_response import FastJSONResponse
from reconciler.emulator.store import Store

# The docs' multi-value separator is `|`; commas (the spec's `style: form, explode: false`, which
# the SDK sends) and repeated keys work too.
SEPARATORS = re.compile(r"[|,]")
MAX_EXPAND_DEPTH = 4  # "expand[]=field1.field2.field3.field4 is the maximum depth"


@dataclass
class Ctx:
    """One request as handlers see it."""

    store: Store
    request: Request
    body: Any
    now: float
    key_name: str
    scopes: frozenset[str]

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def values(self, name: str) -> list[str]:
        """A multi-value query parameter: `a|b`, `a,b` and repeated keys (also as `name[]`)."""
        out: list[str] = []
        for key in (name, f"{name}[]"):
            for raw in self.request.query_params.getlist(key):
                out.extend(v.strip() for v in SEPARATORS.split(raw) if v.strip())
        return out

    def require(self, *needed: str) -> None:
        """403 unless the key holds every scope in `needed` (or its resource's `manage`)."""
        check_scopes(self.scopes, needed)

    def enum_values(self, name: str, allowed: Iterable[str]) -> list[str]:
        """A multi-value filter over an enum: unknown values are a 400, as the spec's enums say."""
        values = self.values(name)
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise invalid(f"unknown {name} value(s): {', '.join(unknown)}", param=name, allowed=list(allowed))
        return values

    def expand(self, resource: str, extra: Iterable[str] = ()) -> set[str]:
        """The request's expansions of `resource` (a table name in `views.EXPANSIONS`):
        `expand=a&expand=b`, `expand[]=a`, `expand=a,b`; nested ones as dotted paths
        (`release.config_schemas`, at most four fields). A nested path expands its prefixes too,
        as the docs say. `extra` are top-level-only values (`total_count` on lists)."""
        wanted: set[str] = set()
        for path in self.values("expand"):
            fields = path.split(".")
            if len(fields) > MAX_EXPAND_DEPTH:
                raise invalid(
                    f"expand value {path!r} nests deeper than {MAX_EXPAND_DEPTH} levels",
                    param="expand",
                    max_depth=MAX_EXPAND_DEPTH,
                )
            options: Mapping[str, str | None] = {**views.EXPANSIONS[resource], **dict.fromkeys(extra)}
            for depth, name in enumerate(fields):
                if name not in options:
                    raise invalid(f"unknown expand value {path!r}", param="expand", allowed=sorted(options))
                child = options[name]
                options = views.EXPANSIONS[child] if child else {}
                wanted.add(".".join(fields[: depth + 1]))
        return wanted

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise invalid("the request body must be a JSON object")
        return self.body


Handler = Callable[[Ctx], Response]


def ok(body: Any) -> JSONResponse:
    return FastJSONResponse(body)
