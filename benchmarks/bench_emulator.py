"""Emulator over loopback: seed 10,000 devices into a db file, serve it with
`reconcile emulator serve` (uvicorn on 127.0.0.1, a separate process), list every device
in pages of 100 through the official SDK, and print requests/second and the peak memory
of the server and of this client (psutil).

    .venv/bin/python benchmarks/bench_emulator.py [--devices 10000] [--page 100] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import miru_platform_sdk as sdk
import psutil

VERSION = "2026-08-17.everglades"
KEY = "emulator-local-ro"


def ident(item: Any) -> str:
    # The SDK leaves list items as dicts (its list models use forward references).
    return str(item["id"] if isinstance(item, dict) else item.id)


def fleet(n: int) -> dict[str, Any]:
    groups = [{"name": "fleet"}, *({"name": f"site-{i}", "parent": "fleet"} for i in range(10))]
    devices = [
        {"name": f"amr-{i:05d}", "group": f"site-{i % 10}", "status": "online" if i % 7 else "offline"}
        for i in range(n)
    ]
    return {"groups": groups, "devices": devices}


class PeakRss:
    """Samples a process's RSS every few ms from a thread; also reads the kernel's high-water
    mark (VmHWM) when available, which catches peaks between samples."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(0.005)

    def high_water(self) -> int:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak = max(self.peak, self.high_water())
        self._stop.set()
        self._thread.join()


def start_server(
    db: Path, seed: Path | None = None, env: dict[str, str] | None = None, *, quiet: bool = False
) -> tuple[subprocess.Popen[str], str, float]:
    """`reconcile emulator serve` on a free port in its own process: (process, URL, start time).
    `quiet`: without its access log (the platform's cost, not the client's: 8% of its CPU)."""
    started = time.perf_counter()
    command = ["emulator", "serve", "--db", str(db), *(["--seed", str(seed)] if seed else []), "--port", "0"]
    command += ["--no-access-log"] if quiet else []
    proc = subprocess.Popen(
        [sys.executable, "-c", "from reconciler.cli import main; main()", *command],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    while True:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit(f"the emulator did not start (exit {proc.wait()})")
        if "listening on" in line:
            url = line.split("listening on ", 1)[1].split()[0]
            break
    # Drain the access log so the pipe never fills and blocks the server.
    threading.Thread(target=lambda: [None for _ in proc.stderr or []], daemon=True).start()
    return proc, url, time.perf_counter() - started


async def list_all(url: str, page: int, concurrency: int) -> tuple[int, int, float]:
    """Every device, pages of `page`: the first page gives total_count, the rest are fetched
    with `concurrency` requests in flight. Returns (devices, requests, seconds)."""
    client = sdk.AsyncMiru(api_key=KEY, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0)
    async with client:
        started = time.perf_counter()
        first = await client.devices.list(limit=page, expand=["total_count"], order_by=["id:asc"])
        total = first.total_count or 0
        seen = [ident(d) for d in first.data]
        semaphore = asyncio.Semaphore(concurrency)

        async def fetch(offset: int) -> list[str]:
            async with semaphore:
                result = await client.devices.list(limit=page, offset=offset, order_by=["id:asc"])
                return [ident(d) for d in result.data]

        pages = await asyncio.gather(*(fetch(o) for o in range(page, total, page)))
        elapsed = time.perf_counter() - started
        for p in pages:
            seen.extend(p)
    if len(seen) != total or len(set(seen)) != total:
        raise SystemExit(f"paging returned {len(seen)} ids ({len(set(seen))} distinct) for {total} devices")
    return total, 1 + len(pages), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting; best and median are shown")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as tmp:
        seed = Path(tmp) / "seed.yaml"
        seed.write_text(json.dumps(fleet(args.devices)))  # JSON is YAML, and much faster to parse
        proc, url, startup = start_server(Path(tmp) / "emulator.db", seed)
        try:
            client_peak = PeakRss(os.getpid())
            with PeakRss(proc.pid) as server_peak, client_peak:
                rows = []
                for concurrency in (1, args.concurrency):
                    runs = [asyncio.run(list_all(url, args.page, concurrency)) for _ in range(args.repeat)]
                    times = sorted(seconds for _, _, seconds in runs)
                    total, requests, _ = runs[0]
                    rows.append((concurrency, total, requests, times[0], times[len(times) // 2]))
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    mib = 1024 * 1024
    print(f"emulator over loopback (uvicorn, 127.0.0.1), {args.devices} devices, pages of {args.page}")
    print(f"  server start + seed: {startup:.2f} s")
    for concurrency, total, requests, best, median in rows:
        print(
            f"  in flight {concurrency}: {total} devices in {requests} requests; best {best:.2f} s = "
            f"{requests / best:.1f} requests/s ({total / best:.0f} devices/s); median {median:.2f} s = "
            f"{requests / median:.1f} requests/s"
        )
    print(f"  peak RSS: server {server_peak.peak / mib:.1f} MiB, client {client_peak.peak / mib:.1f} MiB")


if __name__ == "__main__":
    main()
