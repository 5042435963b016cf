"""JSON responses: orjson where it can encode the body (serving a page of 100 expanded items was a
third stdlib `json`), the stdlib otherwise."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:
            # What orjson declines (an int over 64 bits, a non-str key, a lone surrogate a client
            # sent escaped): the stdlib, ASCII-escaped so a lone surrogate is still valid JSON text.
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()
