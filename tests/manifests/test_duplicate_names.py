"""A duplicate DeploymentSet name is reported in the same run as the schema errors of the
document that repeats it, not only once those are fixed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main

SET = """apiVersion: reconciler/v1
kind: DeploymentSet
metadata: {{name: east}}
spec:
  selector: {{groups: [fleet]}}
  release: v1.4.1
  activation: {activation}
"""


def test_duplicate_name_and_schema_errors_in_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "reconcile.yaml").write_text("target: {emulator: {}}\n")
    (tmp_path / "a.yaml").write_text(SET.format(activation="deploy"))
    (tmp_path / "b.yaml").write_text(SET.format(activation="later"))  # a schema error
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "."])
    assert result.exit_code == 1
    assert "b.yaml:7:15: error: " in result.stderr and "activation" in result.stderr
    assert "b.yaml:3:" in result.stderr
    assert "DeploymentSet name 'east' is already used at a.yaml:3" in result.stderr
