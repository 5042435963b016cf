"""Manifests read from a git ref (`iter_sources`, one `gittree.GitSource` per ref), and the
working tree's repository: HEAD's commit, and why a plan cannot claim it (uncommitted changes).
`plan --ref REF` and `plan --base REF` use the sources."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import git

from reconciler.errors import ReconcileError
from reconciler.gittree import GitSource


def open_repo(path: Path) -> tuple[git.Repo, str] | None:
    """The repository holding `path` and `path` relative to its top, or None outside git."""
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    top = Path(str(repo.working_tree_dir)).resolve()
    rel = Path(path).resolve().relative_to(top).as_posix()
    return repo, "" if rel == "." else rel


def head_commit(path: Path) -> str | None:
    """HEAD's sha when the project directory has no uncommitted changes, else None (a plan
    of a dirty tree does not claim to be that commit)."""
    found = open_repo(path)
    if found is None:
        return None
    repo, rel = found
    try:
        sha = str(repo.head.commit.hexsha)
    except ValueError:  # no commits yet
        return None
    dirty = repo.is_dirty(path=rel or None, untracked_files=True)
    return None if dirty else sha


def why_no_commit(path: Path) -> str | None:
    """Why `head_commit` has no sha for `path`, in words (None when it has one): not a git
    repository, no commits yet, or the files with uncommitted changes."""
    found = open_repo(path)
    if found is None:
        return f"{path} is not inside a git repository"
    repo, rel = found
    try:
        repo.head.commit  # noqa: B018 (raises when there is no commit)
    except ValueError:
        return "the repository has no commits yet"
    where = rel or None
    if not repo.is_dirty(path=where, untracked_files=True):
        return None
    changed = {d.a_path or d.b_path for d in repo.index.diff(None, paths=where)}
    changed |= {d.a_path or d.b_path for d in repo.index.diff("HEAD", paths=where)}
    changed |= set(
        repo.untracked_files if not rel else [f for f in repo.untracked_files if f.startswith(rel)]
    )
    names = sorted(str(n) for n in changed if n)
    shown = ", ".join(names[:5]) + (f", ... (+{len(names) - 5} more)" if len(names) > 5 else "")
    return f"the working tree has uncommitted changes ({shown})"


def iter_sources(path: Path, refs: Sequence[str]) -> Iterator[GitSource]:
    found = open_repo(path)
    if found is None:
        raise ReconcileError(f"{path} is not inside a git repository; --ref and --base need one")
    repo, rel = found
    for ref in refs:
        yield GitSource(repo, ref, rel)
