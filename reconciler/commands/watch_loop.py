"""The watch loop: rounds until --once or a stop, failed rounds backing off. Each round fetches
the ref, plans with the live state, finds drift and, with --apply, applies.

The loop takes its wait and its stop flag from the caller, so tests run rounds back to back on
the emulator's clock and the command waits on wall time, woken early by SIGTERM."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from reconciler.apply.executor import execute
from reconciler.commands.plan import load_at, load_base
from reconciler.commands.planning import plan_with_state
from reconciler.commands.watch_events import event_key, events
from reconciler.commands.watch_round import Options, Round
from reconciler.commands.wiring import session
from reconciler.errors import EXIT_OK, ReconcileError, redact
from reconciler.escape import json_text
from reconciler.gitsource import open_repo
from reconciler.plan.drift import find_drift
from reconciler.platform import notify

MAX_BACKOFF = 3600.0


def fetch(path: Path, ref: str) -> None:
    """`git fetch` the remote a ref like `origin/main` names (a local ref needs none)."""
    found = open_repo(path)
    if found is None:
        raise ReconcileError(f"{path}: not in a git repository; --ref needs one")
    repo, _ = found
    remote = ref.split("/", 1)[0] if "/" in ref else None
    if remote is None or remote not in [r.name for r in repo.remotes]:
        return
    try:
        repo.git.fetch("--quiet", remote)
    except Exception as e:  # GitCommandError carries the remote's URL (maybe a token): not shown
        raise ReconcileError(f"git fetch {remote} failed ({type(e).__name__})") from None


async def one_round(
    opts: Options, number: int, stop: Callable[[], bool], previous: str | None = None
) -> Round:
    """One round. `previous`: the commit the last good round read; when the ref has moved
    since, what the new commits change is pushed work, not drift."""
    r = Round(number)
    try:
        if opts.ref:
            await asyncio.to_thread(fetch, opts.path, opts.ref)
        project, r.commit = load_at(opts.path, opts.ref)
        moved = opts.ref is not None and previous is not None and previous != r.commit
        base = load_base(opts.path, previous) if moved and previous else None
        async with session(project, opts.base_url) as wired:
            plan, _, live = await plan_with_state(project, wired, base=base, commit=r.commit)
            r.plan, r.drift = plan, find_drift(plan, live, list(live.failed))
            if opts.mode == "apply" and plan.has_changes and not stop():
                r.applied = await execute(
                    plan, wired.platform, root=project.root, clock=wired.clock, stop=stop
                )
        r.events = events(r, opts.mode, wired.platform.target)
        r.hooks = project.notify
    except ReconcileError as e:
        r.error = redact(e.format_text())
    r.stopped = stop()
    return r


def backoff(interval: float, errors: int) -> float:
    """The wait after `errors` failed rounds in a row: doubling, at most an hour (or the
    interval, when that is longer)."""
    if errors == 0:
        return interval
    return float(min(interval * 2**errors, max(interval, MAX_BACKOFF)))


async def run(
    opts: Options,
    *,
    wait: Callable[[float], Awaitable[bool]],
    stop: Callable[[], bool],
    emit: Callable[[str], None],
    transport: Any = None,
) -> int:
    """Rounds until --once, or until `wait` says stop. A webhook hears an event once while
    it lasts: the same drift found again next round is logged, not sent again."""
    errors, number, last, previous = 0, 0, set(), None
    while True:
        number += 1
        r = await one_round(opts, number, stop, previous)
        errors = errors + 1 if r.error is not None else 0
        previous = r.commit if r.error is None else previous
        if r.error is None:  # a failed round says nothing about what is still wrong
            r.events, last = (
                [e for e in r.events if event_key(e) not in last],
                {event_key(e) for e in r.events},
            )
        r.notify_problems = await notify.send(r.hooks, r.events, transport=transport)
        done = opts.once or r.stopped
        delay = None if done else backoff(opts.interval, errors)
        emit(json_text(r.line(opts.mode, delay), indent=None))
        if delay is None or not await wait(delay):
            return r.exit_code(opts.mode) if opts.once else EXIT_OK
