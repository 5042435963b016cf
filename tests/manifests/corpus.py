"""Runs one bad-manifest case: a copy of the case directory as a project, with a minimal
reconcile.yaml added when the case has none."""

from __future__ import annotations

import shutil
from pathlib import Path

from reconciler.errors import ValidationFailed
from reconciler.manifests.loader import load_path

BAD = Path(__file__).parent / "bad"
DEFAULT_PROJECT = "target:\n  emulator: {}\n"


def problems_of(case: Path, workdir: Path) -> list[str]:
    project = workdir / "project"
    shutil.copytree(case, project, ignore=shutil.ignore_patterns("expected.txt"))
    if not (project / "reconcile.yaml").exists():
        (project / "reconcile.yaml").write_text(DEFAULT_PROJECT)
    try:
        load_path(project)
    except ValidationFailed as e:
        return [p.format_text() for p in e.problems]
    return []


if __name__ == "__main__":  # regenerate expectations by hand: review every diff
    import sys
    import tempfile

    for case in sorted(BAD.iterdir()):
        if len(sys.argv) > 1 and not any(a in case.name for a in sys.argv[1:]):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            lines = problems_of(case, Path(tmp))
        print(f"== {case.name}")
        print("\n".join(lines))
        (case / "expected.txt").write_text("".join(line + "\n" for line in lines))
