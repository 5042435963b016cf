"""`reconcile apply` at scale: a config change (motion-control max_speed) to 2,000 devices,
strategy immediate, against the emulator served over loopback (`reconcile emulator serve`,
uvicorn on 127.0.0.1 in another process, real clock, agent delay 1 s) with a latency rule of
50 ms on every platform API call (the emulator's fault injection, `emulator/faults.py`).

Side by side in one run: apply (plan + rollout, health polled until every device reports
`deployed`) at several `--parallelism` settings, and a sequential SDK loop making the same
change (list devices; per device read its current deployment and create a new one; one
shared config instance; no checks). Requests are counted by the emulator's request log
(platform API only); client CPU is this process's (the emulator runs in its own).

    .venv/bin/python benchmarks/bench_apply.py [--devices 2000] [--parallelism 8,32,64]
        [--naive-devices N] [--latency 0.05] [--profile P]

`--naive-devices N` times the sequential loop on N devices only and scales its wall time to
the fleet (it is one request after the other: linear by construction); the table says so.
`RECONCILE_SOURCE=<dir>` measures another checkout's code (the figures before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import inspect
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import miru_platform_sdk as sdk

ROOT = Path(os.environ.get("RECONCILE_SOURCE") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_emulator import start_server  # noqa: E402  (the served emulator, loopback)

from reconciler.apply.executor import execute  # noqa: E402
from reconciler.commands.planning import make_plan  # noqa: E402
from reconciler.commands.wiring import session  # noqa: E402
from reconciler.manifests.loader import load_path  # noqa: E402
from reconciler.platform import writes  # noqa: E402,F401  (resolves the SDK's list models)
from tests.apply.helpers import write_project  # noqa: E402
from tests.harness import example_fleet  # noqa: E402

VERSION = "2026-08-17.everglades"
KEY = "emulator-local-rw"


class Admin:
    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=600)

    def reseed(self, seed: dict[str, Any], latency: float) -> None:
        self.http.post("/_emulator/reset").raise_for_status()
        self.http.post("/_emulator/seed", content=json.dumps(seed)).raise_for_status()
        rules = [{"path": "/beta/*", "latency": latency}] if latency else []
        self.http.put("/_emulator/faults", json={"rules": rules}).raise_for_status()
        self.clear()

    def clear(self) -> None:
        self.http.delete("/_emulator/requests").raise_for_status()

    def requests(self) -> int:
        r = self.http.get("/_emulator/requests", params={"path": "/beta"})
        r.raise_for_status()
        return int(r.json()["total"])


async def run_apply(project_dir: Path, url: str, parallelism: int, profile: bool) -> dict[str, Any]:
    os.environ["MIRU_API_KEY"] = KEY
    project = load_path(project_dir)
    kwargs: dict[str, Any] = {}
    if "parallelism" in inspect.signature(session).parameters:
        kwargs["parallelism"] = parallelism
    else:  # the code before `--parallelism`: its fixed limit (8) is `connect`'s default
        from reconciler.platform import client

        client.connect.__wrapped__.__kwdefaults__["concurrency"] = parallelism  # type: ignore[attr-defined]
    profiler = cProfile.Profile(time.process_time) if profile else None
    cpu, started = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    async with session(project, f"{url}/beta", **kwargs) as wired:
        plan = await make_plan(project, wired)
        planned, plan_cpu = time.perf_counter(), time.process_time() - cpu
        changed = sum(1 for c in plan.changes if c.action == "deploy")
        result = await execute(plan, wired.platform, root=project_dir, clock=wired.clock)
    if profiler:
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
        stats.dump_stats("/tmp/bench-apply.prof")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if result.exit_code != 0:
        raise SystemExit(f"apply failed: {result.records[0].status.message}")
    ok = sum(1 for e in result.ledger if e.state == "succeeded")
    return {
        "wall": wall,
        "plan_wall": planned - started,
        "cpu": cpu,
        "plan_cpu": plan_cpu,
        "changed": changed,
        "ok": ok,
    }


async def run_naive(url: str, new_data: str, limit: int | None) -> tuple[float, int]:
    """What a hand-written script does: one request at a time, no concurrency."""
    client = sdk.AsyncMiru(api_key=KEY, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0)
    async with client:
        started = time.perf_counter()
        devices: list[Any] = []
        offset = 0
        while True:
            page = await client.devices.list(limit=100, offset=offset, expand=["current_deployment"])
            devices += page.data
            if not page.has_more or (limit and len(devices) >= limit):
                break
            offset += len(page.data)
        devices = devices[:limit] if limit else devices
        expand: Any = ["config_instances"]
        first = await client.deployments.retrieve(devices[0].current_deployment.id, expand=expand)
        motion = next(
            ci for ci in first.config_instances or [] if ci.filepath.endswith("motion-control.json")
        )
        instance = await client.config_instances.create(
            config_schema_id=motion.config_schema_id,
            slot_key="default",
            content={"data": new_data, "format": "json"},
        )
        done = 0
        for device in devices:
            if device.current_deployment is None:
                continue
            current = await client.deployments.retrieve(device.current_deployment.id, expand=expand)
            ids = [
                instance.id if ci.config_schema_id == motion.config_schema_id else ci.id
                for ci in current.config_instances or []
            ]
            await client.deployments.create(
                device_id=device.id,
                release_id=current.release_id,
                config_instance_ids=ids,
                description="naive loop",
                target_status="deployed",
                parent_id=current.id,
            )
            done += 1
        return time.perf_counter() - started, done


def cpu_of(pid: int) -> float:
    """A process's CPU seconds so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--parallelism", default="8,32,64", help="apply's settings to compare")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every API call")
    parser.add_argument("--naive-devices", type=int, default=0, help="time the loop on this many only")
    parser.add_argument("--profile", type=int, default=0, metavar="P", help="cProfile apply at parallelism P")
    parser.add_argument("--append", type=Path, help="append the figures as a section to this markdown file")
    args = parser.parse_args()
    n = args.devices
    seed = example_fleet(n, offline=[], spare=False)
    settings = [int(x) for x in args.parallelism.split(",") if x]
    rows: list[
        tuple[str, int, int, float, float | None, float]
    ] = []  # name, devices, requests, wall, cpu, server

    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        seed_file = Path(tmp) / "seed.yaml"
        seed_file.write_text(json.dumps(seed))
        proc, url, _ = start_server(Path(tmp) / "emulator.db", seed_file)
        load = [os.getloadavg()[0]]
        try:
            admin = Admin(url)
            for p in settings:
                admin.reseed(seed, args.latency)
                project = write_project(
                    Path(tmp) / f"project-{p}",
                    _Db(Path(tmp) / "unused.db"),  # type: ignore[arg-type]
                    rollout={"strategy": "immediate"},
                )
                server = cpu_of(proc.pid)
                r = asyncio.run(run_apply(project, url, p, args.profile == p))
                server = cpu_of(proc.pid) - server
                assert r["ok"] == r["changed"] == n, r
                label = f"reconcile apply --parallelism {p}"
                rows.append((label, r["changed"], admin.requests(), r["wall"], r["cpu"], server))
                print(f"  parallelism {p}: {r}", file=sys.stderr, flush=True)
                load.append(os.getloadavg()[0])

            admin.reseed(seed, args.latency)
            server = cpu_of(proc.pid)
            cfg = dict(seed["devices"][0]["configs"]["motion-control"], max_speed=1.2)
            naive_s, naive_done = asyncio.run(
                run_naive(url, json.dumps(cfg, sort_keys=True), args.naive_devices or None)
            )
            naive_requests = admin.requests()
            naive_server = cpu_of(proc.pid) - server
            load.append(os.getloadavg()[0])
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    scaled = naive_done < n
    naive_wall = naive_s * n / naive_done
    naive_req = round(naive_requests * n / naive_done)
    name = "sequential SDK loop (no checks)" + (
        f", {naive_done} devices timed, scaled to {n}" if scaled else ""
    )
    rows.append((name, n, naive_req, naive_wall, None, naive_server * n / naive_done))
    lines = [
        "| run | devices | requests | requests/device | wall | speed-up vs loop | client CPU | CPU/device "
        "| emulator CPU (per request) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, devices, req, secs, cpu, server in rows:
        cpu_cells = f"{cpu:.2f} s | {1000 * cpu / devices:.2f} ms" if cpu is not None else " | "
        lines.append(
            f"| {label} | {devices:,} | {req:,} | {req / max(devices, 1):.2f} | {secs:.1f} s | "
            f"{naive_wall / secs:.1f}x | {cpu_cells} | {server:.1f} s ({1000 * server / max(req, 1):.1f} ms) |"
        )
    lines.append("")
    lines.append(
        f"Latency {args.latency * 1000:.0f} ms on every API call; load average during the run "
        f"{min(load):.1f}-{max(load):.1f} (2 shared cores). {time.strftime('%Y-%m-%d %H:%M')}."
    )
    text = "\n".join(lines)
    print(text)
    if args.append:
        with args.append.open("a", encoding="utf-8") as f:
            f.write("\n" + text + "\n")


class _Db:
    """`write_project` only needs `.db` (the project targets the served emulator via the URL)."""

    def __init__(self, db: Path):
        self.db = str(db)


if __name__ == "__main__":
    main()
