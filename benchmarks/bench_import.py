"""`reconcile import` of a 10,000-device fleet over loopback, then the round-trip plan.

The fleet is `tests/adopt/fleet.py`'s mixed one (two releases, per-device content, empty
optional slots, offline devices, devices never enrolled or never deployed), served by
`reconcile emulator serve` on 127.0.0.1 in a separate process; the import reads it with the
read-only key. Reports requests (the reader's count), client CPU seconds, wall time, files
and bytes written, peak RSS of this process, and the plan that follows (every imported device
unchanged).

    .venv/bin/python benchmarks/bench_import.py [--devices 10000] [--set-per group|release]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_emulator import PeakRss, start_server  # noqa: E402

from reconciler.commands.import_run import run_import  # noqa: E402
from reconciler.commands.planning import make_plan  # noqa: E402
from reconciler.commands.wiring import session  # noqa: E402
from reconciler.manifests.loader import load_path  # noqa: E402
from reconciler.platform.live import minimum_requests  # noqa: E402
from tests.adopt.fleet import mixed_fleet  # noqa: E402

RO = "emulator-local-ro"


async def plan_again(root: Path) -> dict[str, int]:
    project = load_path(root)
    async with session(project) as wired:
        plan = await make_plan(project, wired)
    return plan.summary()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--set-per", choices=["group", "release"], default="group")
    args = parser.parse_args()
    os.environ["MIRU_API_KEY"] = RO
    seed = mixed_fleet(args.devices)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        seed_file = Path(tmp) / "seed.json"
        seed_file.write_text(json.dumps(seed))
        proc, url, startup = start_server(Path(tmp) / "emulator.db", seed_file)
        try:
            out = Path(tmp) / "fleet"
            out.mkdir()
            wall = time.perf_counter()
            with PeakRss(os.getpid()) as peak:
                outcome = run_import(out, set_per=args.set_per, base_url=f"{url}/beta")
            wall = time.perf_counter() - wall
            written = sum((out / rel).stat().st_size for rel in outcome.written)
            os.environ["MIRU_BASE_URL"] = f"{url}/beta"
            summary = asyncio.run(plan_again(out))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    r = outcome.result
    n = len(seed["devices"])
    deployed = sum(1 for d in seed["devices"] if d.get("release"))
    minimum = minimum_requests(n, deployed, 0)
    print(f"reconcile import over loopback: {n} devices ({r.imported} imported, {len(r.skipped)} left out)")
    print(f"  server start + seed: {startup:.1f} s")
    print(f"  requests: {outcome.requests} (devices + deployments alone need {minimum} pages)")
    print(
        f"  client: {outcome.cpu_seconds:.2f} CPU s to read and generate (generating "
        f"{outcome.generate_cpu_seconds:.2f} s), {wall:.2f} s wall with writing"
    )
    print(f"  written: {len(outcome.written)} files, {written / 1024:.0f} KiB, {len(r.sets)} DeploymentSets")
    print(f"  client peak RSS: {max(peak.peak, peak.high_water()) / (1024 * 1024):.0f} MiB")
    print(
        f"  plan after import: {summary['noop']} unchanged, {summary['deploy'] + summary['upgrade']} changes"
    )


if __name__ == "__main__":
    main()
