"""Apply's bookkeeping at scale: a rolling rollout (max_parallel 1,000, agents answering at
once, health `min_healthy_time` 1 s) of a config change to 10,000 and 20,000 devices, against
the embedded emulator with its manual clock (no sleeping: waits advance the clock). Reports
the process CPU, the share spent saving the rollout record (`SetRollout._save` and the fold
at the end), the longest single save, and the longest event-loop iteration (a task that
yields with `sleep(0)` and measures the time until it runs again).

The embedded emulator serves in this process, so "process CPU" includes the platform's side;
the share of the client's own CPU spent on records is larger than the share shown.

    .venv/bin/python benchmarks/bench_rollout_records.py [--sizes 10000,20000]

`RECONCILE_SOURCE=<dir>` measures another checkout's code (the figures before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(os.environ.get("RECONCILE_SOURCE") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))  # first: the code measured (its `tests` helpers too)

from reconciler.apply import rollout as rollout_mod  # noqa: E402
from reconciler.apply.executor import execute  # noqa: E402
from reconciler.commands.planning import make_plan  # noqa: E402
from reconciler.commands.wiring import session  # noqa: E402
from reconciler.emulator.app import create_app  # noqa: E402
from reconciler.manifests.loader import load_path  # noqa: E402
from tests.apply.helpers import write_project  # noqa: E402
from tests.harness import example_fleet  # noqa: E402

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
        original = rollout_mod.SetRollout._save

        def timed(this: Any, **status: Any) -> None:
            started, cpu = time.perf_counter(), time.thread_time()
            original(this, **status)
            self.total += time.thread_time() - cpu
            self.longest = max(self.longest, time.perf_counter() - started)
            self.calls += 1

        rollout_mod.SetRollout._save = timed  # type: ignore[method-assign,assignment]


async def longest_iteration(stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0)
        out.append(time.perf_counter() - started)


async def run(n: int, tmp: Path, timed: Timed) -> dict[str, float]:
    seed = tmp / f"seed-{n}.json"
    seed.write_text(json.dumps(example_fleet(n, offline=[], spare=False, delay=0.0)))
    db = tmp / f"e-{n}.db"
    create_app(str(db), seed=seed, clock="manual").state.store.conn.close()
    root = write_project(tmp / f"p-{n}", SimpleNamespace(db=str(db)), rollout=ROLLOUT)  # type: ignore[arg-type]
    project = load_path(root)
    async with session(project) as wired:
        plan = await make_plan(project, wired)
        stop, gaps = asyncio.Event(), [0.0]
        monitor = asyncio.create_task(longest_iteration(stop, gaps))
        cpu, wall = time.process_time(), time.perf_counter()
        result = await execute(plan, wired.platform, root=project.root, clock=wired.clock)
        stop.set()
        await monitor
        fold = 0.0
        for t in threading.enumerate():
            if t.name.startswith("compact "):  # the fold of a finished rollout's journal
                folded = time.perf_counter()
                t.join()
                fold += time.perf_counter() - folded
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    ok = sum(1 for e in result.ledger if e.state == "succeeded")
    assert ok == n, f"{ok} of {n} devices succeeded"
    return {
        "cpu": cpu,
        "wall": wall,
        "records": timed.total,
        "save_max": timed.longest,
        "saves": timed.calls,
        "loop_max": max(gaps),
        "fold": fold,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,20000")
    args = parser.parse_args()
    print(f"code: {Path(sys.modules['reconciler'].__file__ or '').parent}")
    for n in (int(x) for x in args.sizes.split(",")):
        timed = Timed()
        with tempfile.TemporaryDirectory(prefix="bench-records-") as t:
            r = asyncio.run(run(n, Path(t), timed))
        print(
            f"  {n:>6,} devices: process CPU {r['cpu']:.1f} s (wall {r['wall']:.1f} s); records "
            f"{r['records']:.2f} s = {100 * r['records'] / r['cpu']:.1f}% in {r['saves']:.0f} saves "
            f"(fold thread joined after {r['fold']:.2f} s); longest save {r['save_max'] * 1000:.0f} ms; "
            f"longest event-loop iteration {r['loop_max'] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
