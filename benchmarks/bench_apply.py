"""`reconcile apply` at scale: a config change (motion-control max_speed) to 2,000 devices,
strategy immediate, against the emulator served over loopback (`reconcile emulator serve`,
uvicorn on 127.0.0.1, real clock, agent delay 1 s), side by side with a naive sequential
SDK loop making the same change (list devices; per device read its current deployment and
create a new one; one shared config instance). Requests are counted by the emulator's
request log (platform API only), so both sides are measured the same way.

Apply includes planning (reading live state) and waiting until every device reports
`deployed`; the naive loop checks nothing and stops after its last create.

    .venv/bin/python benchmarks/bench_apply.py [--devices 2000] [--append docs/benchmarks.md]
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
from typing import Any

import httpx
import miru_platform_sdk as sdk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_emulator import start_server  # noqa: E402  (the served emulator, loopback)
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
        self.http = httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=300)

    def reseed(self, seed: dict[str, Any]) -> None:
        self.http.post("/_emulator/reset").raise_for_status()
        self.http.post("/_emulator/seed", content=json.dumps(seed)).raise_for_status()
        self.clear()

    def clear(self) -> None:
        self.http.delete("/_emulator/requests").raise_for_status()

    def requests(self) -> int:
        r = self.http.get("/_emulator/requests", params={"path": "/beta"})
        r.raise_for_status()
        return int(r.json()["total"])


async def run_apply(project_dir: Path, url: str) -> tuple[float, int, int]:
    os.environ["MIRU_API_KEY"] = KEY
    project = load_path(project_dir)
    started = time.perf_counter()
    async with session(project, f"{url}/beta") as wired:
        plan = await make_plan(project, wired)
        changed = sum(1 for c in plan.changes if c.action == "deploy")
        result = await execute(plan, wired.platform, root=project_dir, clock=wired.clock)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"apply failed: {result.records[0].status.message}")
    return elapsed, changed, sum(1 for e in result.ledger if e.state == "succeeded")


async def run_naive(url: str, new_data: str) -> tuple[float, int]:
    """What a hand-written script does: one request at a time, no concurrency."""
    client = sdk.AsyncMiru(api_key=KEY, miru_version=VERSION, base_url=f"{url}/beta", max_retries=0)
    async with client:
        started = time.perf_counter()
        devices: list[Any] = []
        offset = 0
        while True:
            page = await client.devices.list(limit=100, offset=offset, expand=["current_deployment"])
            devices += page.data
            if not page.has_more:
                break
            offset += len(page.data)
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--append", type=Path, help="append the figures as a section to this markdown file")
    args = parser.parse_args()
    seed = example_fleet(args.devices, offline=[], spare=False)

    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        seed_file = Path(tmp) / "seed.yaml"
        seed_file.write_text(json.dumps(seed))
        proc, url, _ = start_server(Path(tmp) / "emulator.db", seed_file)
        try:
            admin = Admin(url)
            admin.clear()
            project = write_project(
                Path(tmp) / "project",
                _Db(Path(tmp) / "unused.db"),  # type: ignore[arg-type]
                rollout={"strategy": "immediate"},
            )
            apply_s, changed, succeeded = asyncio.run(run_apply(project, url))
            apply_requests = admin.requests()

            admin.reseed(seed)
            cfg = dict(seed["devices"][0]["configs"]["motion-control"], max_speed=1.2)
            naive_s, naive_done = asyncio.run(run_naive(url, json.dumps(cfg, sort_keys=True)))
            naive_requests = admin.requests()
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    rows = [
        ("reconcile apply (plan + immediate rollout, health polled)", changed, apply_requests, apply_s),
        ("naive sequential SDK loop (no checks)", naive_done, naive_requests, naive_s),
    ]
    lines = [
        f"## apply: config change to {args.devices} devices (immediate), emulator over loopback",
        "",
        "| run | devices changed | requests | requests/device | wall time |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, n, req, secs in rows:
        lines.append(f"| {name} | {n} | {req} | {req / max(n, 1):.2f} | {secs:.1f} s |")
    lines += [
        "",
        f"Ratio (naive / apply): requests {naive_requests / max(apply_requests, 1):.1f}x, "
        f"wall time {naive_s / max(apply_s, 1e-9):.1f}x. Apply's wall time includes waiting for every "
        f"agent to report `deployed` (agent delay 1 s); {succeeded} devices verified healthy. "
        f"Measured {time.strftime('%Y-%m-%d')} by `benchmarks/bench_apply.py`.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.append:
        with args.append.open("a", encoding="utf-8") as f:
            f.write("\n" + text)


class _Db:
    """`write_project` only needs `.db` (the project targets the served emulator via --base-url)."""

    def __init__(self, db: Path):
        self.db = str(db)


if __name__ == "__main__":
    main()
