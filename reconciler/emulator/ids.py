"""Resource ids as the platform writes them: `<prefix>_<24 hex>`, ordered by creation unless the
`ids: random` switch asks for ids that carry no order."""

from __future__ import annotations

import secrets
import threading
import time

from reconciler.emulator import platform

_id_lock = threading.Lock()


_last_ns = 0


def new_id(prefix: str) -> str:
    """`<prefix>_<24 hex>`: a monotonic time part then randomness, so sorting by id is
    sorting by creation (a stable tie-break for equal timestamps under a manual clock); with
    the `ids: random` switch, 24 random hex digits, as real ids carry no order."""
    if platform.current().ids == "random":
        return f"{prefix}_{secrets.token_hex(12)}"
    global _last_ns
    with _id_lock:
        _last_ns = max(_last_ns + 1, time.time_ns())
        ns = _last_ns
    return f"{prefix}_{ns:016x}{secrets.token_hex(4)}"


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` ids as `new_id` makes them, drawn at once (seeding 100,000 devices)."""
    if platform.current().ids == "random":
        noise = secrets.token_hex(12 * count)
        return [f"{prefix}_{noise[24 * k : 24 * k + 24]}" for k in range(count)]
    global _last_ns
    with _id_lock:
        first = max(_last_ns + 1, time.time_ns())
        _last_ns = first + count - 1
    noise = secrets.token_hex(4 * count)
    return [f"{prefix}_{first + k:016x}{noise[8 * k : 8 * k + 8]}" for k in range(count)]
