"""Maintenance windows, as data and as time arithmetic: when a rollout may start a device.

A window recurs on days of the week (every day when none are named) from a local start time,
until a local end time (the next day when it is not after the start) or for a duration, in an
IANA timezone. Local times are turned into absolute ones through `zoneinfo`, so a window keeps
its wall-clock hours across a DST change (01:00-05:00 lasts five hours on the night clocks go
back); a `duration` is absolute time. A device may start inside an allow window (any time, when
no allow window applies to it) and outside every deny window.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
HORIZON_DAYS = 15  # how far ahead "when does it open" looks (a weekly window recurs within 7)
_DAY = 86400.0


def zone(name: str) -> ZoneInfo:
    """The IANA timezone, or ValueError with a readable message."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA timezone like Europe/Berlin or UTC") from None


def _clock(text: str) -> dt.time:
    if not re.match(TIME_PATTERN, text):
        raise ValueError(f"{text!r} is not a time like 22:00")
    h, m = text.split(":")
    return dt.time(int(h), int(m))


@dataclass(frozen=True)
class MaintenanceWindow:
    kind: str  # allow | deny
    start: str  # "HH:MM", local
    timezone: str = "UTC"
    end: str | None = None  # "HH:MM", local; not after start = the next day
    duration: float | None = None  # seconds (instead of end)
    days: tuple[str, ...] = ()  # mon..sun, the day the window starts; empty = every day
    groups: tuple[str, ...] = ()  # only devices in these groups (or below them) ...
    devices: tuple[str, ...] = ()  # ... or named here; neither = every device of the set

    @property
    def scoped(self) -> bool:
        return bool(self.groups or self.devices)

    def length(self) -> float:
        if self.duration is not None:
            return self.duration
        return _DAY  # an end time is at most a day after the start

    def intervals(self, since: float, until: float) -> list[tuple[float, float]]:
        """Absolute [start, end) of each occurrence overlapping [since, until]."""
        tz = zone(self.timezone)
        start = _clock(self.start)
        first = dt.datetime.fromtimestamp(since, tz).date() - dt.timedelta(
            days=math.ceil(self.length() / _DAY) + 1
        )
        last = dt.datetime.fromtimestamp(until, tz).date() + dt.timedelta(days=1)
        out: list[tuple[float, float]] = []
        day = first
        while day <= last:
            if not self.days or DAYS[day.weekday()] in self.days:
                s = dt.datetime.combine(day, start, tzinfo=tz).timestamp()
                if self.end is not None:
                    end = _clock(self.end)
                    end_day = day + dt.timedelta(days=1) if end <= start else day
                    e = dt.datetime.combine(end_day, end, tzinfo=tz).timestamp()
                else:
                    e = s + float(self.duration or 0.0)
                if e > since and s <= until:
                    out.append((s, e))
            day += dt.timedelta(days=1)
        return out

    def is_open(self, at: float) -> bool:
        return any(s <= at < e for s, e in self.intervals(at, at))

    def words(self) -> str:
        days = ",".join(self.days) if self.days else "daily"
        until = f"-{self.end}" if self.end is not None else f" for {_short(self.duration or 0.0)}"
        scope = ""
        if self.scoped:
            scope = " for " + "; ".join(
                f"{k} {', '.join(v)}" for k, v in (("groups", self.groups), ("devices", self.devices)) if v
            )
        return f"{self.kind} {days} {self.start}{until} {self.timezone}{scope}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "start": self.start, "timezone": self.timezone}
        if self.end is not None:
            out["end"] = self.end
        if self.duration is not None:
            out["duration"] = self.duration
        for key in ("days", "groups", "devices"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MaintenanceWindow:
        from reconciler.model.rollout import seconds  # the one duration grammar

        return cls(
            kind=str(d.get("kind", "allow")),
            start=str(d["start"]),
            timezone=str(d.get("timezone", "UTC")),
            end=str(d["end"]) if d.get("end") is not None else None,
            duration=seconds(d["duration"]) if d.get("duration") is not None else None,
            days=tuple(str(x) for x in d.get("days", ())),
            groups=tuple(str(x) for x in d.get("groups", ())),
            devices=tuple(str(x) for x in d.get("devices", ())),
        )


def _short(secs: float) -> str:
    h, m = divmod(int(secs) // 60, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if m or not h else "")


def allowed(windows: Sequence[MaintenanceWindow], at: float) -> bool:
    """Whether a device to which exactly `windows` apply may start at `at` (seconds since the epoch)."""
    allows = [w for w in windows if w.kind == "allow"]
    if allows and not any(w.is_open(at) for w in allows):
        return False
    return not any(w.is_open(at) for w in windows if w.kind == "deny")


def next_allowed(windows: Sequence[MaintenanceWindow], at: float) -> float | None:
    """The first time from `at` on when a device may start (None: not within the horizon)."""
    if allowed(windows, at):
        return at
    until = at + HORIZON_DAYS * _DAY
    candidates = sorted(
        {s for w in windows if w.kind == "allow" for s, _ in w.intervals(at, until) if s > at}
        | {e for w in windows if w.kind == "deny" for _, e in w.intervals(at, until) if e > at}
    )
    return next((t for t in candidates if t <= until and allowed(windows, t)), None)


def utc_words(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%a %Y-%m-%d %H:%M UTC")


def problems(d: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """What the JSON Schema cannot say about one window: the timezone exists, one of end or
    duration, and a duration of at most a week."""
    out: list[tuple[tuple[str, ...], str]] = []
    try:
        zone(str(d.get("timezone", "UTC")))
    except ValueError as e:
        out.append((("timezone",), str(e)))
    if ("end" in d) == ("duration" in d):
        out.append((("start",), "a window needs end or duration (one of them)"))
    if "duration" in d:
        from reconciler.model.rollout import seconds

        try:
            if not 0 < seconds(d["duration"]) <= 7 * _DAY:
                out.append((("duration",), "a window lasts more than nothing and at most 7 days"))
        except ValueError as e:
            out.append((("duration",), str(e)))
    return out
