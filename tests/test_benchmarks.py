"""Every benchmark still runs: each script at a tiny size, in its own process, as `make bench`
runs it. Nothing here is timed (figures belong to `docs/benchmarks.md`); what is checked is
that the script ends well and prints its result line, so the scripts behind the documented
figures cannot rot unseen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# script -> (tiny arguments, a piece of the output that only a finished run prints)
RUNS: dict[str, tuple[list[str], str]] = {
    "bench_apply.py": (
        ["--devices", "40", "--parallelism", "8", "--naive-devices", "4", "--latency", "0.01"],
        "| reconcile apply --parallelism 8 | 40 |",
    ),
    "bench_emulator.py": (["--devices", "300", "--repeat", "1"], "peak RSS"),
    "bench_emulator_scale.py": (["--sizes", "300"], "seed     300 devices"),
    "bench_import.py": (["--devices", "300"], "plan after import: 300 unchanged"),
    "bench_plan.py": (["--devices", "300", "--overrides", "5"], "naive SDK loop"),
    "bench_plan_scale.py": (
        [
            "--sizes",
            "200",
            "--runs",
            "plan,plan-md,latency,set",
            "--parallelism",
            "8",
            "--overrides",
            "5",
            "--replay",
        ],
        "rep@8",
    ),
    "bench_record_fold.py": (["--devices", "300", "--runs", "1"], "| 300 | 1 |"),
    "bench_rollout_records.py": (["--sizes", "300"], "| 300 |"),
    "bench_validate.py": (["--files", "20", "--runs", "1"], "valid (20 DeploymentSets)"),
}


def test_every_benchmark_has_a_tiny_run() -> None:
    assert sorted(RUNS) == sorted(p.name for p in BENCHMARKS.glob("bench_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(RUNS))
def test_the_benchmark_runs(script: str, tmp_path: Path) -> None:
    args, finished = RUNS[script]
    if script == "bench_plan_scale.py":
        args = [*args, "--keep", str(tmp_path)]  # its fleets, not /tmp's cache
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert finished in done.stdout, done.stdout[-3000:]
    # The replay server answered the measured plans from memory, as its figures claim.
    assert "not kept" not in done.stdout, done.stdout[-3000:]
