"""Timestamps in responses: ISO 8601 in UTC (`Z`), at the precision the platform switch asks for."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from reconciler.emulator import platform


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return _iso(ts, platform.current().timestamps)


# A page of 100 deployments formats 500 timestamps, most of them shared (a seeded fleet's, a
# row's created and updated times): formatting was 60% of serving a page, which the scale
# benchmarks count as the platform's answer time.
@lru_cache(maxsize=1 << 16)
def _iso(ts: float, precision: str) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    if precision == "auto":
        spec = "seconds" if moment.microsecond == 0 else "microseconds"
    else:
        spec = {"seconds": "seconds", "milliseconds": "milliseconds", "microseconds": "microseconds"}[
            precision
        ]
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def iso_required(ts: float) -> str:
    text = iso(ts)
    assert text is not None
    return text
