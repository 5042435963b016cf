"""Timestamps in responses: ISO 8601 in UTC (`Z`), at the precision the platform switch asks for."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.emulator import platform


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    precision = platform.current().timestamps
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
