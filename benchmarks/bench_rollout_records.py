"""Apply's bookkeeping at scale: a rolling rollout (max_parallel 1,000, agents answering at
once, health `min_healthy_time` 1 s) of a config change to every device, at several fleet
sizes, against an emulator on a manual clock (no sleeping: waits advance its clock).

By default the emulator is served by `reconcile emulator serve` in another process (uvicorn
on 127.0.0.1, the db created with a manual clock), so this process is the client alone: its
CPU, the share of it spent on the rollout record (`SetRollout._save`, the fold at the end and
the journal's fsync thread), and the longest event-loop stall (a probe task that yields with
`sleep(0)` and measures how long until it runs again) are the client's own. `--embedded`
runs the emulator in this process instead (its CPU and stalls then count too).

    .venv/bin/python benchmarks/bench_rollout_records.py [--sizes 10000,20000,50000] [--profile N]

`RECONCILE_SOURCE=<dir>` measures another checkout's code (the figures before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import gc
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

ROOT = Path(os.environ.get("RECONCILE_SOURCE") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))  # first: the code measured (its `tests` helpers too)

from bench_emulator import start_server  # noqa: E402

from reconciler.apply import rollout as rollout_mod  # noqa: E402
from reconciler.apply.executor import execute  # noqa: E402
from reconciler.commands.planning import make_plan  # noqa: E402
from reconciler.commands.wiring import session  # noqa: E402
from reconciler.emulator.app import create_app  # noqa: E402
from reconciler.manifests.loader import load_path  # noqa: E402
from tests.apply.helpers import write_project  # noqa: E402
from tests.harness import example_fleet  # noqa: E402

KEY = "emulator-local-rw"
ROLLOUT = {
    "strategy": "rolling",
    "max_parallel": 1000,
    "health_check": {"deadline": "10m", "min_healthy_time": "1s"},
}


class Timed:
    """Wraps `SetRollout._save`: CPU inside it (this thread's), and the longest wall time."""

    def __init__(self) -> None:
        self.total = 0.0
        self.longest = 0.0
        self.calls = 0
        original = self.original = rollout_mod.SetRollout._save

        def timed(this: Any, **status: Any) -> None:
            started, cpu = time.perf_counter(), time.thread_time()
            original(this, **status)
            self.total += time.thread_time() - cpu
            self.longest = max(self.longest, time.perf_counter() - started)
            self.calls += 1

        rollout_mod.SetRollout._save = timed  # type: ignore[method-assign,assignment]

    def close(self) -> None:
        rollout_mod.SetRollout._save = self.original  # type: ignore[method-assign]


class Turns:
    """Steps the event loop ran since the probe's last turn: how many, and their CPU."""

    steps = 0
    cpu = 0.0
    where: ClassVar[list[str]] = []  # where the tasks of those steps resumed
    longest: tuple[float, int, float] = (0.0, 0, 0.0)  # the probe's longest wait, its steps, their CPU
    longest_where: ClassVar[list[str]] = []


async def loop_probe(stop: asyncio.Event, out: list[float]) -> None:
    """The longest time the event loop went without running this task (it is always ready)."""
    while not stop.is_set():
        started = time.perf_counter()
        Turns.steps, Turns.cpu, Turns.where = 0, 0.0, []
        await asyncio.sleep(0)
        waited = time.perf_counter() - started
        out.append(waited)
        if waited > Turns.longest[0]:
            Turns.longest, Turns.longest_where = (waited, Turns.steps, Turns.cpu), Turns.where


def _where(task: object) -> str:
    """Where a task is suspended, innermost last (walks the coroutines' awaits: cheap)."""
    coro, out = getattr(task, "_coro", None), []
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        frame = coro.cr_frame
        out.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        coro = getattr(coro, "cr_await", None)
    return " < ".join(out)


def _name(handle: asyncio.events.Handle) -> str:
    """A handle's callback by name. Not `repr(handle)`: that reprs the callback's arguments, a
    finished task among them with its result (a whole rollout's), in the loop iteration the
    probe is timing: 200-460 ms at 50,000-100,000 devices that were the bench's own."""
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    name = getattr(callback, "__qualname__", type(callback).__name__)
    return f"{name} of {owner.get_name()}" if isinstance(owner, asyncio.Task) else name


class Callbacks:
    """The longest single callbacks the event loop ran (a task's step between two awaits): what
    blocks the loop, by wall time and by this thread's CPU, with where the task resumed and
    where it stopped next. `loop_probe` sees more: a loop iteration running many ready
    callbacks."""

    def __init__(self, profile: bool = False) -> None:
        self.longest, self.what, self.longest_cpu = 0.0, "", 0.0
        self.top: list[tuple[float, str]] = []  # the five longest by CPU
        self.profile: cProfile.Profile | None = None  # of the longest callback by CPU (with `profile`)
        self.original = original = asyncio.events.Handle._run
        timed = self

        def run(handle: asyncio.events.Handle) -> None:
            profiler = cProfile.Profile(time.thread_time) if profile else None
            task = getattr(getattr(handle, "_callback", None), "__self__", None)
            resumed = _where(task) if isinstance(task, asyncio.Task) else ""
            started, cpu = time.perf_counter(), time.thread_time()
            if profiler:
                profiler.enable()
            original(handle)
            if profiler:
                profiler.disable()
            took, used = time.perf_counter() - started, time.thread_time() - cpu
            Turns.steps += 1
            Turns.cpu += used
            Turns.where.append(resumed.rsplit(" < ", 3)[-1] if resumed else _name(handle))
            if used > timed.longest_cpu:
                timed.longest_cpu, timed.profile = used, profiler
            if len(timed.top) < 5 or used > timed.top[-1][0]:
                where = _name(handle) + (f"\n      resumed at: {resumed}" if resumed else "")
                if isinstance(task, asyncio.Task) and not task.done():
                    where += f"\n      stopped next at: {_where(task)}"
                timed.top = sorted([*timed.top, (used, where)], reverse=True)[:5]
            if took > timed.longest:
                timed.longest, timed.what = took, _name(handle)

        asyncio.events.Handle._run = run  # type: ignore[method-assign,assignment]

    def close(self) -> None:
        asyncio.events.Handle._run = self.original  # type: ignore[method-assign]


class GcPauses:
    """The longest garbage collection (any generation): a pause of the event loop too."""

    def __init__(self, trace: bool = False) -> None:
        self.longest, self.total, self._started, self.generation = 0.0, 0.0, 0.0, -1
        self.trace: str | None = "" if trace else None  # where the longest full pass started
        self._stack = ""
        self.at = 0.0  # when the longest started (perf_counter)
        gc.callbacks.append(self.callback)

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            if info["generation"] == 2 and self.trace is not None:
                self._stack = "".join(traceback.format_stack(limit=12)[:-1])
        else:
            took = time.perf_counter() - self._started
            self.total += took
            if took > self.longest:
                self.longest, self.generation, self.at = took, info["generation"], self._started
                if info["generation"] == 2 and self.trace is not None:
                    self.trace = self._stack

    def close(self) -> None:
        gc.callbacks.remove(self.callback)


def serve(db: Path) -> tuple[subprocess.Popen[str], str]:
    """The emulator in its own process, running the code measured (`RECONCILE_SOURCE`)."""
    proc, url, _ = start_server(db, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return proc, url


def _sync_threads() -> float:
    """CPU of the journal's fsync thread and the fold thread is this process's, not the event
    loop's; they are joined (and their wall time counted) before the figures are taken."""
    waited = time.perf_counter()
    for t in threading.enumerate():
        if t.name.startswith("compact "):
            t.join()
    try:
        from reconciler.apply import journal

        getattr(journal, "synced", lambda: None)()
    except ImportError:
        pass
    return time.perf_counter() - waited


async def run(n: int, tmp: Path, *, embedded: bool, profile: bool, stalls: bool) -> dict[str, Any]:
    seed = tmp / f"seed-{n}.json"
    seed.write_text(json.dumps(example_fleet(n, offline=[], spare=False, delay=0.0)))
    db = tmp / f"e-{n}.db"
    create_app(str(db), seed=seed, clock="manual").state.store.conn.close()
    root = write_project(tmp / f"p-{n}", SimpleNamespace(db=str(db)), rollout=ROLLOUT)  # type: ignore[arg-type]
    project = load_path(root)
    proc, base = (None, None) if embedded else serve(db)
    if base is not None:
        os.environ["MIRU_API_KEY"] = KEY
    timed = Timed()
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not wall (loaded machine)
    try:
        async with session(project, f"{base}/beta" if base else None) as wired:
            plan = await make_plan(project, wired)
            stop, gaps = asyncio.Event(), [0.0]
            Turns.longest, Turns.longest_where = (0.0, 0, 0.0), []  # this size's own
            probe = asyncio.create_task(loop_probe(stop, gaps))
            cpu, wall = time.process_time(), time.perf_counter()
            pauses, callbacks = GcPauses(trace=stalls), Callbacks(profile=stalls)
            if profiler:
                profiler.enable()
            result = await execute(plan, wired.platform, root=project.root, clock=wired.clock)
            returned = time.perf_counter()
            if profiler:
                profiler.disable()
            stop.set()
            pauses.close()
            callbacks.close()
            await probe
            fold = _sync_threads()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            requests = wired.platform.requests
    finally:
        timed.close()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
    ok = sum(1 for e in result.ledger if e.state == "succeeded")
    assert ok == n, f"{ok} of {n} devices succeeded"
    if profiler:
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(35)
        stats.sort_stats("tottime").print_stats(25)
        stats.dump_stats(os.environ.get("BENCH_PROFILE_OUT", "/tmp/bench-records.prof"))
    return {
        "cpu": cpu,
        "wall": wall,
        "records": timed.total,
        "save_max": timed.longest,
        "saves": timed.calls,
        "loop_max": max(gaps),
        "loop_steps": Turns.longest[1:],
        "loop_where": collections.Counter(Turns.longest_where).most_common(4),
        "fold": fold,
        "requests": requests,
        "gc_max": pauses.longest,
        "callback_max": callbacks.longest,
        "callback_cpu": callbacks.longest_cpu,
        "callback": callbacks.what,
        "top": callbacks.top,
        "callback_profile": callbacks.profile,
        "gc": pauses.total,
        "gc_gen": pauses.generation,
        "gc_trace": pauses.trace,
        "gc_at": pauses.at - returned,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,20000,50000")
    parser.add_argument("--embedded", action="store_true", help="the emulator in this process")
    parser.add_argument("--stalls", action="store_true", help="profile the longest callback (slow)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile the run of N devices")
    args = parser.parse_args()
    print(f"code: {Path(sys.modules['reconciler'].__file__ or '').parent}; load {os.getloadavg()[0]:.1f}")
    print(
        "| devices | client CPU | per device | records (share) | saves | longest save | longest callback: wall (CPU) | longest loop iteration | longest GC | requests | wall |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-records-") as t:
            r = asyncio.run(
                run(n, Path(t), embedded=args.embedded, profile=args.profile == n, stalls=args.stalls)
            )
        print(
            f"| {n:,} | {r['cpu']:.1f} s | {1000 * r['cpu'] / n:.2f} ms | {r['records']:.2f} s "
            f"({100 * r['records'] / r['cpu']:.1f}%) | {r['saves']} | {r['save_max'] * 1000:.1f} ms | "
            f"{r['callback_max'] * 1000:.0f} ms ({r['callback_cpu'] * 1000:.0f} ms) | {r['loop_max'] * 1000:.0f} ms | {r['gc_max'] * 1000:.0f} ms (gen {r['gc_gen']}, {r['gc_at']:+.1f} s from the end; all {r['gc']:.1f} s) | {r['requests']:,} | {r['wall']:.0f} s (load "
            f"{os.getloadavg()[0]:.1f}) |",
            flush=True,
        )
        print(f"  (longest callback by wall time: {r['callback']})")
        steps, used = r["loop_steps"]
        print(f"  longest loop iteration: {steps} steps ran in it, {used * 1000:.0f} ms of CPU in all")
        for where, count in r["loop_where"]:
            print(f"    {count} resumed at: {where}")
        for used, where in r["top"]:
            print(f"  {used * 1000:.0f} ms of CPU: {where}")
        if r["gc_trace"]:
            print(f"  longest full GC started in:\n{r['gc_trace']}")
        if r["callback_profile"] is not None:
            pstats.Stats(r["callback_profile"]).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
