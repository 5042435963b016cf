"""The terminal's wave bars count each device once, on the wave it started in: with a sliding
window, devices of wave 1 finishing after wave 2 began are not credited to wave 2 (no `6/3`)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from reconciler.apply import progress


def bars(monkeypatch: pytest.MonkeyPatch) -> progress.RichWaves:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    monkeypatch.setattr(progress, "stderr_console", lambda: console)
    return progress.RichWaves()


def counts(r: progress.RichWaves) -> list[tuple[str, float, float | None]]:
    return [(t.description, t.completed, t.total) for t in r._progress.tasks]


def test_sliding_window_completions_stay_with_their_wave(monkeypatch: pytest.MonkeyPatch) -> None:
    r = bars(monkeypatch)
    r.wave("s", 1, 2, 3)
    for d in ("a", "b", "c"):
        r.device("s", d, "in_flight")
    r.device("s", "a", "succeeded")
    r.wave("s", 2, 2, 3)  # a's slot went to d while b and c are still in flight
    r.device("s", "d", "in_flight")
    for d in ("b", "c", "d"):
        r.device("s", d, "succeeded")
    r.device("s", "b", "rolled_back")  # a later state of a counted device is not counted again
    r.close()
    assert counts(r) == [("s wave 1/2", 3, 3), ("s wave 2/2", 1, 3)]
