"""`reconcile plan` at fleet scale over loopback: 10,000 devices (3 slots), 3 DeploymentSets,
100 overrides, against the emulator served by uvicorn on 127.0.0.1 in a separate process.

Reports requests made / the minimum (target <= 1.1, counted by the emulator's request log),
client CPU seconds, peak RSS of this process, and, in the same run, the same fleet read by
a naive loop over the SDK (one call per device, per deployment and per instance) as the
baseline ratio.

    .venv/bin/python benchmarks/bench_plan.py [--devices 10000] [--overrides 100] [--no-naive]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import miru_platform_sdk as sdk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_emulator import PeakRss, start_server  # noqa: E402

from reconciler.commands.planning import plan_with_state  # noqa: E402
from reconciler.commands.wiring import session  # noqa: E402
from reconciler.manifests.loader import load_path  # noqa: E402
from reconciler.plan.render_markdown import render_markdown  # noqa: E402
from reconciler.plan.render_text import render_text  # noqa: E402
from reconciler.platform.live import minimum_requests  # noqa: E402
from tests.harness import example_fleet  # noqa: E402

VERSION = "2026-08-17.everglades"
RW = "emulator-local-rw"
RO = "emulator-local-ro"


def manifests(names: dict[str, list[str]], n_overrides: int) -> dict[str, str]:
    """Three sets (east: a config change, west: unchanged, lab: an upgrade) and `n_overrides`
    overrides spread over east and west, each with its own max_speed (distinct content)."""

    def configs(speed: str, extra: str = "") -> str:
        return (
            "  configs:\n    motion-control:\n      file: ../configs/motion-control.json\n"
            f"      values: {{max_speed: {speed}{extra}}}\n"
            "    localization: {file: ../configs/localization.yaml}\n"
            "    operator-notes: {file: ../configs/operator-notes.txt}\n"
        )

    def overrides(devices: list[str], start: int, count: int) -> str:
        if count == 0:
            return ""
        out = "  overrides:\n"
        step = max(1, len(devices) // max(count, 1))
        for k in range(count):
            picked = devices[k * step : (k * step) + 3]
            out += (
                f"    - devices: [{', '.join(picked)}]\n      configs:\n        motion-control:\n"
                f"          values: {{max_speed: {0.5 + (start + k) / 1000:.3f}}}\n"
            )
        return out

    half = n_overrides // 2
    head = "apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata: {{name: {}}}\nspec:\n"
    return {
        "east.yaml": head.format("east")
        + "  selector: {groups: [warehouse-east]}\n  release: v1.4.1\n"
        + configs("1.2")
        + overrides(names["warehouse-east"], 0, half)
        + "  rollout: {strategy: rolling, max_parallel: 50}\n",
        "west.yaml": head.format("west")
        + "  selector: {groups: [warehouse-west]}\n  release: v1.4.1\n"
        + configs("1.0")
        + overrides(names["warehouse-west"], half, n_overrides - half),
        "lab.yaml": head.format("lab")
        + "  selector: {groups: [lab]}\n  release: v1.4.2\n"
        + configs("1.2", ", docking: {approach_speed: 0.3}")
        + "  rollout: {strategy: canary, canary_count: 5, auto_promote: true}\n",
    }


def write_project(root: Path, url: str, seed: dict[str, Any], n_overrides: int) -> Path:
    names: dict[str, list[str]] = {}
    for d in seed["devices"]:
        if d.get("status") != "inactive":
            names.setdefault(d["group"], []).append(d["name"])
    shutil.copytree(ROOT / "examples" / "configs", root / "configs")
    (root / "deploymentsets").mkdir()
    for name, text in manifests(names, n_overrides).items():
        (root / "deploymentsets" / name).write_text(text)
    (root / "reconcile.yaml").write_text(
        f"target: {{base_url: '{url}/beta'}}\nmanifests: ['deploymentsets/*.yaml']\n"
    )
    return root


async def log_count(url: str, clear: bool = False) -> int:
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": RW}, timeout=60) as admin:
        if clear:
            await admin.delete("/_emulator/requests")
            return 0
        data = (await admin.get("/_emulator/requests", params={"path": "/beta/"})).json()
        return int(data["total"])


async def run_plan(project_dir: Path) -> dict[str, Any]:
    project = load_path(project_dir)
    cpu, wall = time.process_time(), time.perf_counter()
    async with session(project) as wired:
        plan, desired, live = await plan_with_state(project, wired, created_at="")
        made = wired.platform.requests
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    t = time.process_time()
    text, md = render_text(plan), render_markdown(plan)
    render_cpu = time.process_time() - t
    n_instances = len({i for d in live.deployments.values() for i in d.instance_ids})
    pages = minimum_requests(len(live.devices), len(live.deployments), n_instances)
    return {
        "plan": plan,
        "made": made,
        "cpu": cpu,
        "wall": wall,
        "render_cpu": render_cpu,
        "pages": pages,
        "devices": len(live.devices),
        "deployments": len(live.deployments),
        "instances": n_instances,
        "validations": desired.validations,
        "text": len(text),
        "md": len(md),
    }


def ident(x: Any, name: str = "id") -> Any:
    return x[name] if isinstance(x, dict) else getattr(x, name)


async def naive_read(url: str) -> tuple[int, float, float]:
    """The baseline: list device ids, then one call per device, per current deployment and
    per config instance, in a plain loop. Returns (requests, wall seconds, cpu seconds)."""
    client = sdk.AsyncMiru(api_key=RO, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0)
    requests = 0
    cpu, wall = time.process_time(), time.perf_counter()
    async with client:
        ids: list[str] = []
        offset = 0
        while True:
            page = await client.devices.list(limit=100, offset=offset)
            requests += 1
            ids += [ident(d) for d in page.data]
            if not page.has_more:
                break
            offset += 100
        seen_instances: set[str] = set()
        for device_id in ids:
            device = await client.devices.retrieve(
                device_id, expand=["current_deployment", "current_release"]
            )
            requests += 1
            if device.current_deployment is None:
                continue
            dep = await client.deployments.retrieve(device.current_deployment.id, expand=["config_instances"])
            requests += 1
            for inst in dep.config_instances or []:
                if inst.id not in seen_instances:
                    seen_instances.add(inst.id)
                    await client.config_instances.retrieve(inst.id, expand=["content"])
                    requests += 1
    return requests, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--overrides", type=int, default=100)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the client's plan")
    args = parser.parse_args()
    os.environ["MIRU_API_KEY"] = RO
    os.environ.pop("MIRU_BASE_URL", None)
    seed = example_fleet(args.devices)
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        seed_file = Path(tmp) / "seed.json"
        seed_file.write_text(json.dumps(seed))
        proc, url, startup = start_server(Path(tmp) / "emulator.db", seed_file)
        try:
            project_dir = write_project(Path(tmp) / "project", url, seed, args.overrides)
            asyncio.run(log_count(url, clear=True))
            with PeakRss(os.getpid()) as peak:
                if args.profile:
                    import cProfile
                    import pstats

                    prof = cProfile.Profile()
                    r = prof.runcall(asyncio.run, run_plan(project_dir))
                    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
                else:
                    r = asyncio.run(run_plan(project_dir))
            logged = asyncio.run(log_count(url))
            naive = None if args.no_naive else asyncio.run(naive_read(url))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    plan = r["plan"]
    fixed = 4  # groups, config types, releases, schemas: one request each at least
    minimum = r["pages"] + fixed
    mib = 1024 * 1024
    s = plan.summary()
    print(
        f"reconcile plan over loopback: {r['devices']} devices, {r['deployments']} live deployments, "
        f"{r['instances']} distinct live instances, 3 DeploymentSets, {args.overrides} overrides"
    )
    print(f"  server start + seed: {startup:.1f} s")
    print(
        f"  plan: {s['deploy']} deploy, {s['upgrade']} upgrade, {s['noop']} unchanged, "
        f"{s['blocked']} blocked, {s['instances_to_create']} instances to create; "
        f"{r['validations']} schema validations"
    )
    print(
        f"  requests: {logged} (emulator log; client counted {r['made']}); minimum {minimum} "
        f"({r['pages']} list pages + {fixed}); ratio {logged / minimum:.3f}"
    )
    print(
        f"  client: {r['cpu']:.2f} CPU s ({r['wall']:.2f} s wall) to read and plan; rendering "
        f"{r['render_cpu']:.2f} CPU s (text {r['text']} chars, markdown {r['md']} chars)"
    )
    print(f"  client peak RSS: {peak.peak / mib:.0f} MiB")
    if naive is not None:
        n_req, n_wall, n_cpu = naive
        print(
            f"  naive SDK loop (one call per device/deployment/instance): {n_req} requests, {n_wall:.1f} s "
            f"wall, {n_cpu:.1f} CPU s -> {n_req / logged:.0f}x the requests, {n_wall / r['wall']:.0f}x the "
            f"wall time of the plan's read"
        )


if __name__ == "__main__":
    main()
