"""A `manifests:` glob with a typo, or a project with no DeploymentSet, must not read as
"valid, no changes, no drift": every command exits 1 and names the glob where it is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main

SET = "apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata: {name: lab}\nspec: {selector: {groups: [lab]}, release: v1.4.1}\n"
COMMANDS = (
    ["validate"],
    ["plan"],
    ["drift"],
    ["apply", "--auto-approve"],
    ["apply", "--promote"],
    ["status"],
    ["sets"],
)


def _project(root: Path, manifests: str) -> Path:
    (root / "sets").mkdir(parents=True)
    (root / "sets" / "lab.yaml").write_text(SET)
    (root / "reconcile.yaml").write_text(f"target:\n  emulator: {{db: emu.db}}\nmanifests:\n{manifests}")
    return root


def _run(args: list[str], root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, str(root)])
    return result.exit_code, result.stderr + result.stdout


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_glob_matching_no_file_is_an_error_naming_it(args: list[str], tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "  - sets/**/*.yaml\n  - set/**/*.yaml\n")
    code, out = _run(args, root)
    assert code == 1, out
    assert "reconcile.yaml:5:5: error: manifests[1]: 'set/**/*.yaml' matches no file" in out
    assert not (root / "emu.db").exists()  # refused before the platform is reached


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_project_with_no_deploymentset_is_an_error(args: list[str], tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "  - sets/**/*.yaml\n")
    (root / "sets" / "lab.yaml").write_text("# nothing yet\nnotes: []\n")
    code, out = _run(args, root)
    assert code == 1, out
    assert "reconcile.yaml:4:3: error: no DeploymentSet found in the 1 file matched by manifests" in out


def test_the_yml_spelling_of_a_glob_need_not_match_too(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "  - sets/**/*.yaml\n  - sets/**/*.yml\n")
    code, out = _run(["validate"], root)
    assert code == 0, out
    assert "valid (1 DeploymentSet)" in out
