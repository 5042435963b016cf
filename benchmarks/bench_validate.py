"""How fast `reconcile validate` checks a large repository: 2,000 manifest files.

Generates a project in a temp dir (2,000 DeploymentSet files, each naming its own devices,
referencing shared JSON/YAML/text config files with inline values, overrides and a
rollout), runs the real CLI (`reconcile validate`, in a fresh interpreter) on it a few times and
prints files/s and the child's peak RSS. Not a test: run it by hand or with `make bench`.

    .venv/bin/python benchmarks/bench_validate.py [--files 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SET = """# yaml-language-server: $schema=../../schemas/deploymentset.schema.json
apiVersion: reconciler/v1
kind: DeploymentSet
metadata:
  name: cell-{i:05d}
spec:
  selector:
    devices: [amr-{i:05d}-a, amr-{i:05d}-b, amr-{i:05d}-c, amr-{i:05d}-d]
  release: v1.4.{rel}
  configs:
    motion-control:
      file: ../configs/motion-control.json
      values:
        max_speed: {speed}
        safety: {{estop_timeout_ms: {estop}}}
    localization:
      file: ../configs/localization.yaml
    operator-notes:
      file: ../configs/operator-notes.txt
  overrides:
    - devices: [amr-{i:05d}-a]
      configs:
        motion-control:
          values: {{max_speed: 0.5}}
  rollout:
    strategy: rolling
    max_parallel: 2
    health_check: {{deadline: 30s, min_healthy_time: 2s}}
"""


def generate(root: Path, n: int) -> None:
    (root / "deploymentsets").mkdir(parents=True)
    (root / "configs").mkdir()
    (root / "reconcile.yaml").write_text(
        "target:\n  emulator: {db: .reconcile/emulator.db}\nmanifests: ['deploymentsets/**/*.yaml']\n"
    )
    (root / "configs" / "motion-control.json").write_text(
        '{"max_speed": 1.0, "max_accel": 0.5, "safety": {"estop_timeout_ms": 200, '
        '"lidar_zones": ["front", "rear"]}}\n'
    )
    (root / "configs" / "localization.yaml").write_text(
        "map: warehouse-v3\nparticle_count: 500\nupdate_rate_hz: 10\n"
    )
    (root / "configs" / "operator-notes.txt").write_text("Handle with care near the loading dock.\n")
    for i in range(n):
        (root / "deploymentsets" / f"cell-{i:05d}.yaml").write_text(
            SET.format(i=i, rel=1 + i % 2, speed=round(0.5 + (i % 20) / 10, 1), estop=100 + i % 400)
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "fleet"
        generate(root, args.files)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", "from reconciler.cli import main; main()", "validate", str(root)],
                capture_output=True,
                text=True,
            )
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, sep="\n")
                return 1
        # ru_maxrss of waited-for children: KiB on Linux.
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        best = min(times)
        print(f"reconcile validate: {args.files} manifest files (+3 config files), {args.runs} runs")
        print(
            f"  wall time  best {best:.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
            "(includes interpreter start-up)"
        )
        print(f"  throughput {args.files / best:.0f} files/s")
        print(f"  peak RSS   {peak_mib:.0f} MiB")
        print(f"  result     {proc.stdout.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
