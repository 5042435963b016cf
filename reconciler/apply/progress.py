"""Progress while a rollout runs: a rich display per wave on a terminal, plain lines otherwise.

Progress goes to stderr so `--format json` output on stdout stays machine-readable.
"""

from __future__ import annotations

import sys
from typing import Protocol

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from reconciler.escape import LINE_LIMIT, terminal
from reconciler.output import stderr_console


class Reporter(Protocol):
    def wave(self, deployment_set: str, wave: int, total_waves: int, devices: int) -> None: ...

    def device(self, deployment_set: str, device: str, state: str, reason: str = "") -> None: ...

    def note(self, deployment_set: str, text: str) -> None: ...

    def close(self) -> None: ...


class Silent:
    def wave(self, deployment_set: str, wave: int, total_waves: int, devices: int) -> None:
        pass

    def device(self, deployment_set: str, device: str, state: str, reason: str = "") -> None:
        pass

    def note(self, deployment_set: str, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class PlainLines:
    """One line per event, for CI logs and pipes."""

    def __init__(self) -> None:
        self._out = sys.stderr

    def _line(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def wave(self, deployment_set: str, wave: int, total_waves: int, devices: int) -> None:
        self._line(
            f"[{terminal(deployment_set)}] wave {wave}/{total_waves}: {devices} device{'s' * (devices != 1)}"
        )

    def device(self, deployment_set: str, device: str, state: str, reason: str = "") -> None:
        word = "started" if state == "in_flight" else state.replace("_", " ")
        self._line(_device_line(deployment_set, device, word, reason))

    def note(self, deployment_set: str, text: str) -> None:
        self._line(f"[{terminal(deployment_set)}] {terminal(text, LINE_LIMIT)}")

    def close(self) -> None:
        pass


def _device_line(deployment_set: str, device: str, word: str, reason: str) -> str:
    # Names and reasons come from the platform and the manifests: escaped, and printed with
    # markup off, so `[bold]` in a name stays text.
    shown = f"[{terminal(deployment_set)}] {terminal(device)}: {word}"
    return shown + (f" ({terminal(reason, LINE_LIMIT)})" if reason else "")


class RichWaves:
    """A progress bar per (set, wave). A device is credited to the wave it started in: with a
    sliding window, wave n's devices may finish after wave n+1 has begun."""

    def __init__(self) -> None:
        self._console = stderr_console()
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
        )
        self._current: dict[str, TaskID] = {}  # set -> its latest wave's bar
        self._started: dict[tuple[str, str], TaskID] = {}  # (set, device) -> the bar it counts on
        self._done: set[tuple[str, str]] = set()  # counted once, whatever follows (rolled back)
        self._room: dict[TaskID, int] = {}  # devices a bar has yet to count
        self._progress.start()

    def wave(self, deployment_set: str, wave: int, total_waves: int, devices: int) -> None:
        task = self._progress.add_task(f"{terminal(deployment_set)} wave {wave}/{total_waves}", total=devices)
        self._current[deployment_set] = task
        self._room[task] = devices

    def device(self, deployment_set: str, device: str, state: str, reason: str = "") -> None:
        key = (deployment_set, device)
        task = self._started.get(key, self._current.get(deployment_set))
        if state == "in_flight":
            if task is not None:
                self._started.setdefault(key, task)
        elif task is not None and key not in self._done:
            self._done.add(key)
            if self._room[task] > 0:
                self._room[task] -= 1
                self._progress.advance(task)
        if state in ("failed", "stale", "rolled_back", "rollback_issued"):
            self._console.print(_device_line(deployment_set, device, state, reason), markup=False)

    def note(self, deployment_set: str, text: str) -> None:
        self._console.print(f"[{terminal(deployment_set)}] {terminal(text, LINE_LIMIT)}", markup=False)

    def close(self) -> None:
        self._progress.stop()


def reporter(*, interactive: bool, quiet: bool = False) -> Reporter:
    if quiet:
        return Silent()
    return RichWaves() if interactive else PlainLines()
