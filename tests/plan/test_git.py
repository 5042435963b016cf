"""Manifests at a git ref (GitSource, no checkout): `plan --ref`, `plan --base`, and the
Source contract (paths, globs, symlinks) on a real repository made in the test."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import git
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.gitsource import head_commit
from reconciler.gittree import GitSource
from reconciler.manifests.loader import load_project
from reconciler.manifests.source import SourceError
from tests.harness import Harness, example_fleet
from tests.plan.projects import write_project


def commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add(A=True)
    repo.index.commit(
        message, author=git.Actor("t", "t@example.com"), committer=git.Actor("t", "t@example.com")
    )
    return str(repo.head.commit.hexsha)


@pytest.fixture
def repo(emu: Harness, tmp_path: Path) -> tuple[git.Repo, Path]:
    asyncio.run(emu.seed(example_fleet()))
    top = tmp_path / "repo"
    project = write_project(top / "fleet", emu.db)  # the project in a subdirectory of the repo
    (top / ".gitignore").write_text(".reconcile/\n")
    r = git.Repo.init(top, initial_branch="main")
    commit_all(r, "base")
    r.git.checkout("-b", "feature")
    ws = project / "deploymentsets" / "warehouse-amrs.yaml"
    text = ws.read_text()
    assert "max_speed: 0.8" in text
    ws.write_text(text.replace("max_speed: 0.8", "max_speed: 0.5"))
    commit_all(r, "slow down amr-east-01")
    return r, project


def plan_json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["plan", *args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_ref_plans_the_manifests_at_that_ref(repo: tuple[git.Repo, Path]) -> None:
    r, project = repo
    head = plan_json(str(project))
    at_main = plan_json(str(project), "--ref", "main")
    east1 = {c["device"]: c for c in head["changes"]}["amr-east-01"]  # type: ignore[attr-defined]
    east1_main = {c["device"]: c for c in at_main["changes"]}["amr-east-01"]  # type: ignore[attr-defined]
    assert east1["config_diffs"][0]["new"] == 0.5
    assert east1_main["config_diffs"][0]["new"] == 0.8
    assert at_main["commit"] == r.commit("main").hexsha
    assert head["commit"] == r.head.commit.hexsha  # clean tree: the plan names HEAD
    # the working tree was not touched
    assert "max_speed: 0.5" in (project / "deploymentsets" / "warehouse-amrs.yaml").read_text()


def test_base_marks_changes_and_drift(repo: tuple[git.Repo, Path]) -> None:
    _, project = repo
    data = plan_json(str(project), "--base", "main")
    origin = {c["device"]: c["origin"] for c in data["changes"]}  # type: ignore[attr-defined]
    assert origin["amr-east-01"] == origin["amr-east-02"] == "change"  # this branch changed these
    assert origin["amr-east-03"] == "drift"  # main's manifests would change it too
    assert origin["lab-arm-01"] == "drift"
    text = CliRunner().invoke(main, ["plan", str(project), "--base", "main"]).stdout
    assert "[change]" in text and "[drift]" in text


def test_base_without_the_project_marks_every_change_as_this_branchs(
    repo: tuple[git.Repo, Path],
) -> None:
    """A branch that adds the project: at the base there is no reconcile.yaml, so nothing is
    pre-existing drift."""
    r, project = repo
    r.git.checkout("--orphan", "empty")
    r.git.rm("-r", "--cached", "-q", ".")
    r.index.commit(
        "nothing yet", author=git.Actor("t", "t@example.com"), committer=git.Actor("t", "t@example.com")
    )
    r.git.checkout("-f", "feature")
    data = plan_json(str(project), "--base", "empty")
    origins = {c["origin"] for c in data["changes"] if c["action"] not in ("noop", "blocked")}  # type: ignore[attr-defined]
    assert origins == {"change"}


def test_unknown_ref_is_a_clear_error(repo: tuple[git.Repo, Path]) -> None:
    _, project = repo
    result = CliRunner().invoke(main, ["plan", str(project), "--ref", "no-such-branch"])
    assert result.exit_code == 1
    assert "git ref 'no-such-branch' does not exist" in result.stderr


def test_dirty_tree_claims_no_commit(repo: tuple[git.Repo, Path]) -> None:
    _, project = repo
    assert head_commit(project)
    (project / "deploymentsets" / "new.yaml").write_text("# wip\n")
    assert head_commit(project) is None


def test_git_source_contract(tmp_path: Path) -> None:
    top = tmp_path / "r"
    (top / "proj" / "sub").mkdir(parents=True)
    (top / "proj" / "a.yaml").write_text("a: 1\n")
    (top / "proj" / "sub" / "b.yml").write_text("b: 2\n")
    (top / "proj" / ".hidden").mkdir()
    (top / "proj" / ".hidden" / "c.yaml").write_text("c: 3\n")
    (top / "secret.txt").write_text("outside\n")
    os.symlink("../secret.txt", top / "proj" / "escape.yaml")
    os.symlink("sub/b.yml", top / "proj" / "inside.yaml")
    r = git.Repo.init(top)
    commit_all(r, "c")
    (top / "proj" / "a.yaml").write_text("a: changed in the working tree\n")
    src = GitSource(r, "HEAD", "proj")
    assert src.label == "git:HEAD"
    assert src.read_bytes("a.yaml") == b"a: 1\n"
    assert src.read_bytes("inside.yaml") == b"b: 2\n"
    assert src.glob(["**/*.yaml", "**/*.yml"]) == ["a.yaml", "escape.yaml", "inside.yaml", "sub/b.yml"]
    with pytest.raises(SourceError, match="leads outside"):
        src.read_bytes("escape.yaml")
    with pytest.raises(SourceError, match="leaves the repository"):
        src.resolve("a.yaml", "../secret.txt")
    with pytest.raises(SourceError, match="does not exist"):
        src.read_bytes("nope.yaml")
    with pytest.raises(SourceError, match="directory"):
        src.read_bytes("sub")
    assert src.resolve("sub/b.yml", "../a.yaml") == "a.yaml"


def test_load_project_from_git_source(repo: tuple[git.Repo, Path]) -> None:
    r, project = repo
    loaded = load_project(GitSource(r, "main", "fleet"), project)
    ws = next(s for s in loaded.sets if s.name == "warehouse-amrs")
    assert len(ws.overrides) == 1  # main has only the loading-dock override
