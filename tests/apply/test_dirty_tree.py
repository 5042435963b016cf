"""A dirty working tree is named: apply warns, before writing, that deployments will carry
`commit=none`, and why (the files with uncommitted changes); a clean tree gets no warning."""

from __future__ import annotations

import asyncio
from pathlib import Path

import git
from click.testing import CliRunner

from reconciler.cli import main
from tests.apply.helpers import deployments, write_project
from tests.harness import Harness, example_fleet


def commit_all(repo: git.Repo) -> None:
    repo.git.add(A=True)
    who = git.Actor("t", "t@example.com")
    repo.index.commit("manifests", author=who, committer=who)


def test_apply_names_the_uncommitted_files(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    (root / ".gitignore").write_text(".reconcile/\n")
    repo = git.Repo.init(root, initial_branch="main")
    commit_all(repo)
    write_project(root, emu, groups=("lab",), max_speed=1.1)  # an edit not committed
    result = CliRunner().invoke(main, ["apply", str(root), "--auto-approve"])
    assert result.exit_code == 0, result.output
    assert (
        "warning: deployments will carry commit=none: the working tree has uncommitted changes "
        "(sets/all.yaml); commit the manifests" in result.stderr
    )
    assert all(
        "commit=none" in d.description
        for d in asyncio.run(deployments(emu))
        if d.description.startswith("reconcile ")
    )

    commit_all(repo)
    write_project(root, emu, groups=("lab",), max_speed=1.3)
    commit_all(repo)
    clean = CliRunner().invoke(main, ["apply", str(root), "--auto-approve"])
    assert clean.exit_code == 0, clean.output
    assert "commit=none" not in clean.stderr
