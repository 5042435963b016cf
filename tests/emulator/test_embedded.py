"""The embedded emulator as the product mounts it (reconcile.yaml `target.emulator`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_a_bad_seed_is_a_user_error_with_its_location(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project, ignore=shutil.ignore_patterns(".reconcile"))
    (project / "seed.yaml").write_text("groups:\n  - {name: fleet}\n  - {name: east, parent: nowhere}\n")
    result = CliRunner().invoke(main, ["plan", str(project)])
    assert result.exit_code == 1, result.output
    assert "seed.yaml:3:5: groups[1]: unknown or ambiguous parent group 'nowhere'" in result.output
    assert "Traceback" not in result.output
