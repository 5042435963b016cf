"""Durations as written in manifests ("30s", "5m", "1h30m", "250ms") -> seconds."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
# The same grammar as the JSON Schemas' duration pattern.
DURATION_PATTERN = r"^(\d+(\.\d+)?(ms|s|m|h))+$"


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration; ValueError with a readable message otherwise.
    Units must not repeat (e.g. "1m2m") so that a typo cannot hide."""
    pos = 0
    total = 0.0
    seen: set[str] = set()
    if not text:
        raise ValueError("empty duration")
    while pos < len(text):
        m = _PART.match(text, pos)
        if not m:
            raise ValueError(f"{text!r} is not a duration like 30s, 5m or 1h30m")
        if m.group(2) in seen:
            raise ValueError(f"{text!r} repeats the unit {m.group(2)!r}")
        seen.add(m.group(2))
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total


def format_duration(seconds: float) -> str:
    """Seconds -> the shortest readable form ("90s" -> "1m30s")."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    frac = seconds - whole
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "")
    if s or frac or not out:
        out += f"{s + frac:g}s"
    return out
