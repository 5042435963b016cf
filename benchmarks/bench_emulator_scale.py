"""The emulator at fleet scale: seeding (a JSON seed file of the example fleet, every device
with a release and three configs, loaded as `reconcile emulator serve --seed` does) at 1k, 10k
and 100k devices, then the cost of one list page (limit 100) at offsets 0, 50,000 and 99,900
of the largest fleet, served in process (no network), with plain SQL OFFSET and with the
page cursors a client paging through the list leaves behind.

    .venv/bin/python benchmarks/bench_emulator_scale.py [--sizes 1000,10000,100000] [--seed-only]

`RECONCILE_SOURCE=<dir>` measures another checkout's code (the figures before a change).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("RECONCILE_SOURCE") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))  # first: the code measured (its `tests` helpers too)

from starlette.testclient import TestClient  # noqa: E402

from reconciler.emulator.app import create_app  # noqa: E402
from tests.harness import example_fleet  # noqa: E402

HEADERS = {"X-API-Key": "emulator-local-ro", "Miru-Version": "2026-08-17.everglades"}
OFFSETS = (0, 50_000, 99_900)


def seed_time(n: int, tmp: Path) -> tuple[float, float, TestClient | None]:
    seed = tmp / f"seed-{n}.json"
    seed.write_text(json.dumps(example_fleet(n)))
    started, cpu = time.perf_counter(), time.process_time()
    app = create_app(str(tmp / f"e-{n}.db"), seed=seed, clock="manual")
    return time.perf_counter() - started, time.process_time() - cpu, TestClient(app)


def page_ms(client: TestClient, resource: str, offset: int, repeat: int = 15) -> float:
    """Median wall time of a page request in process (the server's work plus the test client's
    small constant share); the first request is a warm-up."""
    client.get(f"/beta/{resource}", params={"limit": 100, "offset": offset}, headers=HEADERS)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        r = client.get(f"/beta/{resource}", params={"limit": 100, "offset": offset}, headers=HEADERS)
        times.append(time.perf_counter() - started)
        assert r.status_code == 200 and len(r.json()["data"]) == 100, r.text[:300]
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"code: {Path(sys.modules['reconciler'].__file__ or '').parent}")
    with tempfile.TemporaryDirectory(prefix="bench-emulator-scale-") as t:
        client = None
        for n in sizes:
            seconds, cpu, client = seed_time(n, Path(t))
            print(
                f"  seed {n:>7,} devices: {seconds:6.2f} s wall, {cpu:6.2f} s CPU "
                f"= {cpu / n * 1000:.3f} ms CPU/device"
            )
        if args.seed_only or client is None or sizes[-1] < 100_000:
            return
        try:
            pages: Any = importlib.import_module("reconciler.emulator.pages")
        except ImportError:  # the code before page cursors
            pages = None
        with client:
            for resource in ("deployments", "devices"):
                if pages is not None:
                    pages.enabled = False
                plain = {o: page_ms(client, resource, o) for o in OFFSETS}
                if pages is None:
                    for o in OFFSETS:
                        print(f"  {resource} page at offset {o:>6,}: OFFSET {plain[o]:6.1f} ms")
                    continue
                pages.enabled = True
                walk = time.perf_counter()
                for o in range(0, 100_000, 100):  # a client paging through leaves a cursor per page
                    client.get(f"/beta/{resource}", params={"limit": 100, "offset": o}, headers=HEADERS)
                walked = time.perf_counter() - walk
                cursor = {o: page_ms(client, resource, o) for o in OFFSETS}
                print(f"  {resource}: paging through all 1,000 pages with cursors: {walked:.1f} s")
                for o in OFFSETS:
                    print(
                        f"  {resource} page at offset {o:>6,}: OFFSET {plain[o]:6.1f} ms, "
                        f"cursor {cursor[o]:6.1f} ms ({plain[o] / cursor[o]:.1f}x)"
                    )


if __name__ == "__main__":
    main()
