"""JSON text of a big structure made on a thread in pieces, handing the interpreter lock to
the event loop between them.

The apply's threads (the plan's digest and copy, a finished record's fold) run while the
event loop runs. One C call over 100,000 devices (encoding, joining the text, freeing the
JSON form) holds the lock, and so the loop, from start to end, and a thread that only
computes keeps it 5 ms at a time while the loop waits for each of its turns: 58-60 ms
stalls while a 100,000-device record was folded. Each function here gives the same bytes
as the one call it replaces.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

PIECE = 2000  # fragments joined, items encoded or freed, between two hand-overs of the lock


def joined(fragments: Iterable[str], end: str = "") -> Iterator[str]:
    """`fragments` joined `PIECE` at a time, then `end`."""
    batch: list[str] = []
    for f in fragments:
        batch.append(f)
        if len(batch) == PIECE:
            yield "".join(batch)
            batch.clear()
            time.sleep(0)  # hands the lock over
    batch.append(end)
    yield "".join(batch)


def pretty(data: Any, *, sort_keys: bool = False) -> Iterator[str]:
    """`json.dumps(data, indent=2, sort_keys=sort_keys) + "\\n"`, in pieces (the indenting
    encoder is Python's own: only its join was one long call)."""
    return joined(json.JSONEncoder(indent=2, sort_keys=sort_keys).iterencode(data), "\n")


def compact(data: dict[str, Any]) -> Iterator[str]:
    """`json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)`, in pieces:
    each long list of `data` item by item (the compact encoder is one C call per item)."""
    encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode
    for n, key in enumerate(sorted(data)):
        value = data[key]
        yield ("," if n else "{") + encode(key) + ":"
        if isinstance(value, list) and len(value) > PIECE:
            yield from joined((("," if i else "[") + encode(x) for i, x in enumerate(value)), "]")
        else:
            yield encode(value)
    yield "}" if data else "{}"


def free(items: list[Any]) -> None:
    """Empty `items` a slice at a time, handing the lock over between slices."""
    while items:
        del items[-PIECE:]
        time.sleep(0)
