"""`reconcile plan` from 1,000 to 100,000 devices: what the command does (load the manifests,
read the platform, plan, render) in a fresh interpreter, against the emulator served by uvicorn
on 127.0.0.1 (a separate process), so the figures are the client's alone: its process CPU
(user + system, interpreter start and imports included) and its peak RSS (VmHWM).

Each fleet is `tests/harness.py::example_fleet(n)` with 1,000 of the warehouse-east devices
(a quarter of them below 4,000 devices) moved to their own group `pilot`; the project has four
DeploymentSets (east: a config change, west: unchanged, lab: an upgrade, pilot: a config
change) and `--overrides` distinct overrides. A fleet's emulator db is seeded once and reused
by every later run (`--keep DIR`). Runs per size:

- `plan`: `reconcile plan` (text);
- `plan-md`: `reconcile plan --format markdown` with the project of `--overrides` overrides;
- `latency`: `plan` with `--latency` seconds injected on every API call (emulator fault rule),
  once per `--parallelism` value (requests in flight; the product's default is 32). Its network
  floor is the rounds of that many requests the request count needs;
- `set`: `reconcile plan --set pilot` (one set of 1,000 devices).

With `--replay`, each `latency` run is followed by the same plan against `replay_server.py`
(`rep@N`): it answers each read from memory after the latency (the emulator answered it once, in
a warm-up run per checkout), for a fraction of the emulator's CPU, so what is left is the
client's own cost and structure.

Requests are counted by the emulator's request log (with `--replay`, by the client). `--before DIR` measures another checkout
(the code before a change) beside this one, run by run, under the same load. `--profile`
runs the plan in this process under cProfile (CPU time) and tracemalloc instead; the
emulator's cost is in its own process, not in the profile.

    .venv/bin/python benchmarks/bench_plan_scale.py --sizes 1000,10000 --runs plan,latency [--parallelism 8,16,32]
    .venv/bin/python benchmarks/bench_plan_scale.py --sizes 10000 --runs latency --parallelism 8,16,32,8,16,32,8,16,32
    .venv/bin/python benchmarks/bench_plan_scale.py --sizes 10000 --runs latency --parallelism 8,16,32,32 --replay
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCE = Path(os.environ.get("RECONCILE_SOURCE") or ROOT)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(SOURCE))  # first: the code measured
sys.path.insert(0, str(HERE))

import replay_server  # noqa: E402
from bench_emulator import start_server  # noqa: E402

T = TypeVar("T")
RW = "emulator-local-rw"
RO = "emulator-local-ro"
PILOT = 1000


def fleet(n: int) -> dict[str, Any]:
    from tests.harness import example_fleet

    seed = example_fleet(n)
    east = [
        d for d in seed["devices"] if d.get("group") == "warehouse-east" and d.get("status") != "inactive"
    ]
    pilot = min(PILOT, len(east) // 4)
    seed["groups"].append({"name": "pilot", "parent": "fleet"})
    for d in east[:pilot]:
        d["group"] = "pilot"
    return seed


def write_project(root: Path, url: str, seed: dict[str, Any], n_overrides: int) -> Path:
    names: dict[str, list[str]] = {}
    for d in seed["devices"]:
        if d.get("status") != "inactive":
            names.setdefault(d["group"], []).append(d["name"])
    # bench_plan imports this checkout's reconciler: only the parent (never the measured client) imports it.
    from bench_plan import manifests

    (root / "deploymentsets").mkdir(parents=True, exist_ok=True)
    if not (root / "configs").exists():
        shutil.copytree(ROOT / "examples" / "configs", root / "configs")
    files = manifests(names, n_overrides)
    files["pilot.yaml"] = (
        files["east.yaml"]
        .replace("{name: east}", "{name: pilot}")
        .replace("groups: [warehouse-east]", "groups: [pilot]")
        .split("  overrides:")[0]
        .split("  rollout:")[0]
    )
    for name, text in files.items():
        (root / "deploymentsets" / name).write_text(text)
    (root / "reconcile.yaml").write_text(
        f"target: {{base_url: '{url}/beta'}}\nmanifests: ['deploymentsets/*.yaml']\n"
    )
    return root


def admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"X-API-Key": RW}, timeout=120)


def requests_logged(url: str) -> int:
    with admin(url) as a:
        return int(a.get("/_emulator/requests", params={"path": "/beta/"}).json()["total"])


def clear_log(url: str) -> None:
    with admin(url) as a:
        a.delete("/_emulator/requests").raise_for_status()


def set_latency(url: str, seconds: float) -> None:
    rules = [{"path": "/beta/*", "latency": seconds}] if seconds else []
    with admin(url) as a:
        a.put("/_emulator/faults", json={"rules": rules, "seed": 1}).raise_for_status()


def run_client(project: Path, fmt: str, sets: list[str], source: str, parallelism: int) -> dict[str, Any]:
    """The plan in a fresh interpreter (`client`) running the code in `source`: its CPU, peak
    RSS and timings."""
    env = {**os.environ, "MIRU_API_KEY": RO, "RECONCILE_SOURCE": source}
    env.pop("MIRU_BASE_URL", None)
    usage = project.parent / "usage.json"
    cmd = [sys.executable, __file__, "--client", str(project), "--format", fmt, "--usage", str(usage)]
    cmd += ["--parallelism", str(parallelism)]
    for name in sets:
        cmd += ["--set", name]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"the client failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    r: dict[str, Any] = json.loads(usage.read_text())
    usage.unlink()
    r["process_wall"] = wall
    return r


def peak_rss() -> int:
    """This process's peak RSS in KiB (VmHWM: unlike `ru_maxrss`, not inherited from the
    parent that forked it, whose fleet seed is large)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def client(project_dir: Path, fmt: str, sets: list[str], usage: Path, parallelism: int) -> None:
    """What `reconcile plan` does (load, read, plan, render), timed by phase; the process's
    own CPU (user + system) and peak RSS, from interpreter start to the end."""
    import resource

    from reconciler.commands.planning import plan_with_state
    from reconciler.commands.wiring import session
    from reconciler.manifests.loader import load_path
    from reconciler.plan import selection as S
    from reconciler.plan.render_markdown import render_markdown
    from reconciler.plan.render_text import render_text
    from reconciler.platform.live import minimum_requests

    run = product_runner()
    cpu0 = time.process_time()
    project = load_path(project_dir)
    loaded = time.process_time()

    async def go() -> tuple[Any, int, int]:
        async with session(project, parallelism=parallelism) as wired:
            plan, _, live = await plan_with_state(
                project, wired, created_at="", selection=S.Selection(sets=tuple(sets))
            )
            instances = {i for d in live.deployments.values() for i in d.instance_ids}
            # Pages of every list plus groups, config types, releases and schemas (one each).
            least = minimum_requests(len(live.devices), len(live.deployments), len(instances)) + 4
            return plan, wired.platform.requests, least

    wall = time.perf_counter()
    plan, made, least = run(go())
    wall = time.perf_counter() - wall
    planned = time.process_time()
    out = render_markdown(plan) if fmt == "markdown" else render_text(plan)
    rendered = time.process_time()
    sys.stdout.write(out[:0])
    u = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "cpu": u.ru_utime + u.ru_stime,  # the whole process: interpreter, imports, everything
        "rss_mib": peak_rss() / 1024,
        "load_cpu": loaded - cpu0,
        "plan_cpu": planned - loaded,  # read + resolve + plan
        "render_cpu": rendered - planned,
        "plan_wall": wall,
        "made": made,
        "minimum": least,
        "chars": len(out),
        "changes": len(plan.changes),
        "source": str(Path(sys.modules["reconciler"].__file__ or "").parent.parent),
    }
    usage.write_text(json.dumps(result))


def product_runner() -> Callable[[Coroutine[Any, Any, T]], T]:
    """How the measured code's commands run a coroutine: `asyncrun.run`, or `asyncio.run` in
    code from before it (whose commands called that directly)."""
    try:
        from reconciler.asyncrun import run
    except ImportError:
        return asyncio.run
    return run


def floor_rounds(requests: int, concurrency: int) -> int:
    return math.ceil(requests / concurrency)


def profile(project: Path, fmt: str, top: int) -> None:
    import cProfile
    import pstats
    import tracemalloc

    os.environ["MIRU_API_KEY"] = RO
    from reconciler.commands.planning import plan_with_state
    from reconciler.commands.wiring import session
    from reconciler.manifests.loader import load_path
    from reconciler.plan.render_markdown import render_markdown
    from reconciler.plan.render_text import render_text

    async def go() -> Any:
        project_ = load_path(project)
        async with session(project_) as wired:
            plan, _, _ = await plan_with_state(project_, wired, created_at="")
        return render_markdown(plan) if fmt == "markdown" else render_text(plan)

    prof = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
    cpu = time.process_time()
    prof.runcall(product_runner(), go())
    print(f"profiled run: {time.process_time() - cpu:.1f} CPU s (with cProfile's overhead)")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)
    tracemalloc.start(5)
    product_runner()(go())
    _current, peak = tracemalloc.get_traced_memory()
    print(f"tracemalloc: peak {peak / 2**20:.0f} MiB traced during the plan")
    for stat in tracemalloc.take_snapshot().statistics("lineno")[:15]:
        print("  ", stat)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,50000,100000")
    parser.add_argument("--runs", default="plan,plan-md,latency,set")
    parser.add_argument("--overrides", type=int, default=1000, help="overrides of the plan-md project")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--parallelism", default="8,16,32", help="requests in flight for `latency` (comma list)"
    )
    parser.add_argument(
        "--keep", default="/tmp/bench-plan-scale", help="where fleets' dbs are kept and reused"
    )
    parser.add_argument(
        "--before",
        help="another checkout: each run is measured with its code, then with this one's (same load)",
    )
    parser.add_argument(
        "--replay",
        action="store_true",
        help="`latency` runs against benchmarks/replay_server.py (answers from memory): the client alone",
    )
    parser.add_argument("--profile", choices=["text", "markdown"], help="profile one size in process")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--json", help="append the results as JSON lines to this file")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # the measured process
    parser.add_argument("--format", default="text", help=argparse.SUPPRESS)
    parser.add_argument("--set", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--usage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client(Path(args.client), args.format, args.set, Path(args.usage), int(args.parallelism))
        return
    sources = [*([args.before] if args.before else []), str(SOURCE)]
    for n in (int(s) for s in args.sizes.split(",")):
        where = Path(args.keep) / f"n{n}"
        where.mkdir(parents=True, exist_ok=True)
        seed = fleet(n)
        seed_file = where / "seed.json"
        if not seed_file.exists():
            seed_file.write_text(json.dumps(seed))
        # The emulator here stands for the platform: its access log (8% of its CPU, on the cores
        # the client uses) is not part of what is measured.
        proc, url, startup = start_server(where / "emulator.db", seed_file, quiet=True)
        servers = [proc]
        try:
            plain = write_project(where / "project", url, seed, 0)
            n_overrides = min(args.overrides, n // 10)  # three devices each, within east and west
            with_overrides = write_project(where / "project-overrides", url, seed, n_overrides)
            if args.replay:
                replay, replay_url = replay_server.start(url, args.latency)
                servers.append(replay)
                to_replay = write_project(where / "project-replay", replay_url, seed, 0)
                for source in sources:  # every read it will answer, once, from the emulator
                    run_client(to_replay, "text", [], source, DEFAULT)
            del seed
            set_latency(url, 0)
            if args.profile:
                profile(with_overrides if args.profile == "markdown" else plain, args.profile, args.top)
                continue
            print(f"{n} devices (server start {startup:.1f} s)", flush=True)
            ratios: dict[str, list[float]] = {}
            for run, parallelism in _runs(args.runs, args.parallelism):
                project, fmt, sets, latency = plain, "text", [], 0.0
                if run == "plan-md":
                    project, fmt = with_overrides, "markdown"
                elif run == "latency":
                    latency = args.latency
                elif run == "set":
                    sets = ["pilot"]
                for source in sources:
                    r = measure(url, project, fmt, sets, latency, source, parallelism)
                    r.update(run=run if run != "latency" else f"lat@{parallelism}", devices=n)
                    results = [r]
                    if latency and args.replay:  # the same plan beside it, the server all but free
                        r = measure_replay(url, replay, to_replay, source, parallelism, latency)
                        results.append({**r, "run": f"rep@{parallelism}", "devices": n})
                    for r in results:
                        report(r, latency)
                        if latency:
                            ratios.setdefault(f"{r['run']} {Path(source).name}", []).append(
                                r["plan_wall"] / r["floor"]
                            )
                        if args.json:
                            with open(args.json, "a") as f:
                                f.write(json.dumps(r) + "\n")
            summarize(ratios)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=60)


def summarize(ratios: dict[str, list[float]]) -> None:
    """Each latency run's wall/floor over its repeats (give a value of `--parallelism` more than
    once): the median and the range, since one run on a shared machine varies by 5-10%."""
    for key, values in ratios.items():
        if len(values) > 1:
            values = sorted(values)
            print(
                f"  {key}: wall/floor median {statistics.median(values):.2f} "
                f"(range {values[0]:.2f}-{values[-1]:.2f}, {len(values)} runs)",
                flush=True,
            )


def port_owner(url: str) -> int:
    """The pid of the emulator serving `url` (its CPU is reported beside the client's)."""
    port = int(url.rsplit(":", 1)[1])
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            return int(conn.pid)
    raise SystemExit(f"no process listens on {url}")


def _runs(runs: str, parallelism: str) -> list[tuple[str, int]]:
    """Each run with its requests in flight: `latency` once per `--parallelism` value, the
    others at the product's default."""
    values = [int(p) for p in parallelism.split(",")]
    return [(run, p) for run in runs.split(",") for p in (values if run == "latency" else [DEFAULT])]


DEFAULT = 32  # reconciler.platform.client.DEFAULT_CONCURRENCY


def measure(
    url: str, project: Path, fmt: str, sets: list[str], latency: float, source: str, parallelism: int
) -> dict[str, Any]:
    set_latency(url, latency)
    clear_log(url)
    server = psutil.Process(port_owner(url)).cpu_times()
    try:
        r = run_client(project, fmt, sets, source, parallelism)
    finally:
        set_latency(url, 0)
    after = psutil.Process(port_owner(url)).cpu_times()
    r["server_cpu"] = (after.user + after.system) - (server.user + server.system)
    r.update(requests=requests_logged(url), load=os.getloadavg()[0])
    if latency:
        rounds = floor_rounds(r["requests"], parallelism)
        r.update(rounds=rounds, floor=rounds * latency, parallelism=parallelism)
    return r


def measure_replay(
    url: str, server: subprocess.Popen[str], project: Path, source: str, parallelism: int, latency: float
) -> dict[str, Any]:
    """`measure` against the replay server: its CPU as the server's, and the requests the
    client counted (the emulator's log sees only what the server had not kept)."""
    clear_log(url)
    before = psutil.Process(server.pid).cpu_times()
    r = run_client(project, "text", [], source, parallelism)
    after = psutil.Process(server.pid).cpu_times()
    r["server_cpu"] = (after.user + after.system) - (before.user + before.system)
    rounds = floor_rounds(r["made"], parallelism)
    # Reads it had not kept went on to the emulator: a run that is not the client's alone.
    r.update(requests=r["made"], load=os.getloadavg()[0], forwarded=requests_logged(url))
    r.update(rounds=rounds, floor=rounds * latency, parallelism=parallelism)
    return r


def report(r: dict[str, Any], latency: float) -> None:
    who = "before" if Path(r["source"]).resolve() != SOURCE.resolve() else "after"
    line = (
        f"  {r['run']:8} {who:6} cpu {r['cpu']:6.2f} s ({r['cpu'] / r['devices'] * 1e6:5.0f} µs/device)  "
        f"rss {r['rss_mib']:5.0f} MiB  (read+plan {r['plan_cpu']:.2f} s, wall {r['plan_wall']:.2f} s, "
        f"render {r['render_cpu']:.2f} s)  "
        f"requests {r['requests']} (minimum {r['minimum']})  server cpu {r['server_cpu']:.2f} s  load {r['load']:.1f}"
    )
    if latency:
        line += (
            f"  floor {r['rounds']} rounds of {r['parallelism']} = {r['floor']:.2f} s: "
            f"wall/floor {r['plan_wall'] / r['floor']:.2f}"
        )
    if r.get("forwarded"):
        line += f"  ({r['forwarded']} reads not kept, answered by the emulator)"
    print(line, flush=True)


if __name__ == "__main__":
    main()
