"""The fold of a finished rollout's record on its thread, and what it does to the event loop.

A rollout of more than 1,000 devices writes its whole record once, when it ends, on a thread
(`reconciler.apply.record._write_whole`). The event loop keeps running meanwhile (other sets'
rollouts); a task that is always ready measures the longest time it waited for its turn while
the thread ran. Garbage collection is off, as it is around the real fold.

    .venv/bin/python benchmarks/bench_record_fold.py [--devices 100000] [--runs 3]

`RECONCILE_SOURCE=<dir>` measures another checkout's code (the figures before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(os.environ.get("RECONCILE_SOURCE") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

from reconciler.apply import record as rec  # noqa: E402
from reconciler.apply.ledger import LedgerEntry  # noqa: E402
from reconciler.model.enums import DeviceOutcome, RolloutState  # noqa: E402
from reconciler.model.rollout import RolloutSpec  # noqa: E402


def record_of(n: int) -> rec.RolloutRecord:
    entries = tuple(
        LedgerEntry(
            device=f"robot-{i:06d}",
            deployment_set="fleet",
            action="upgrade",
            state=DeviceOutcome.SUCCEEDED,
            wave=i // 1000 + 1,
            deployment_id=f"dpl_{i:024d}",
            reason="healthy",
        )
        for i in range(n)
    )
    status = rec.RolloutStatus(state=RolloutState.COMPLETED, created_at="2026-11-30T00:00:00Z", total_nodes=n)
    spec = RolloutSpec.from_dict({"strategy": "rolling"})
    return rec.RolloutRecord(id="ro-bench", deployment_set="fleet", spec=spec, status=status, devices=entries)


async def fold(record: rec.RolloutRecord, tmp: Path) -> tuple[float, float, int]:
    """(the fold's wall time, the longest wait of the loop's probe, bytes written)."""
    done = threading.Event()
    path = tmp / f"{record.id}.json"

    def work() -> None:
        rec._write_whole(path, record)
        done.set()

    gaps = [0.0]
    started = time.perf_counter()
    thread = threading.Thread(target=work)
    thread.start()
    while not done.is_set():
        waited = time.perf_counter()
        await asyncio.sleep(0)
        gaps.append(time.perf_counter() - waited)
    thread.join()
    return time.perf_counter() - started, max(gaps), path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    record = record_of(args.devices)
    gc.disable()
    print(f"code: {Path(sys.modules['reconciler'].__file__ or '').parent}; load {os.getloadavg()[0]:.1f}")
    print("| devices | run | fold (wall) | record | longest wait of the event loop |")
    print("|---:|---:|---:|---:|---:|")
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="bench-fold-") as t:
            took, longest, size = asyncio.run(fold(record, Path(t)))
        print(
            f"| {args.devices:,} | {run} | {took * 1000:.0f} ms | {size / 1e6:.1f} MB | {longest * 1000:.1f} ms |"
        )


if __name__ == "__main__":
    main()
