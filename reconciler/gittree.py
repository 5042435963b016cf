"""Manifests read from a git ref, without a checkout: the manifest loader's `Source` protocol over the
tree objects of a commit (gitpython). `plan --ref REF` and `plan --base REF` use it.

Paths are relative to the project directory inside the repository (a project need not be
at the repository root). Symlinks stored in the tree are followed only while they stay
inside the project directory, as `DirSource` does on disk.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

import git

from reconciler.errors import ReconcileError
from reconciler.manifests.source import SourceError, glob_match, normalize_ref

SYMLINK_MODE = 0o120000


MAX_LINKS = 20


class GitSource:
    def __init__(self, repo: git.Repo, ref: str, subdir: str = ""):
        self.repo = repo
        self.ref = ref
        try:
            self.commit = repo.commit(ref)
        except (git.BadName, ValueError, git.GitCommandError):
            raise ReconcileError(
                f"git ref {ref!r} does not exist in {repo.working_tree_dir}",
                hint="fetch it first (e.g. `git fetch origin main`) or name a commit",
            ) from None
        self.subdir = subdir.strip("/")
        self._root = self.commit.tree
        self._blobs: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"git:{self.ref}"

    @property
    def sha(self) -> str:
        return str(self.commit.hexsha)

    def _entries(self) -> dict[str, Any]:
        """project-relative path -> blob, for every file under the project directory."""
        if self._blobs is None:
            prefix = self.subdir + "/" if self.subdir else ""
            self._blobs = {}
            item: Any
            for item in self._root.traverse():
                path = str(item.path)
                if item.type == "blob" and path.startswith(prefix):
                    self._blobs[path[len(prefix) :]] = item
        return self._blobs

    def _dirs(self) -> set[str]:
        out: set[str] = set()
        for rel in self._entries():
            parts = rel.split("/")[:-1]
            out.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        return out

    def _follow(self, rel: str) -> str:
        """`rel` with every symlink along it resolved; SourceError when one leaves the project."""
        entries = self._entries()
        for _ in range(MAX_LINKS):
            parts = rel.split("/")
            for i in range(1, len(parts) + 1):
                head = "/".join(parts[:i])
                blob = entries.get(head)
                if blob is not None and blob.mode == SYMLINK_MODE:
                    target = blob.data_stream.read().decode("utf-8", "replace")
                    if target.startswith("/"):
                        raise SourceError(f"{rel!r} is a symlink that leads outside the repository")
                    joined = posixpath.normpath(posixpath.join(posixpath.dirname(head), target))
                    if joined == ".." or joined.startswith("../"):
                        raise SourceError(f"{rel!r} is a symlink that leads outside the repository")
                    rel = "/".join([joined, *parts[i:]]) if parts[i:] else joined
                    break
            else:
                return rel
        raise SourceError(f"{rel!r}: too many levels of symlinks")

    def read_bytes(self, rel: str) -> bytes:
        real = self._follow(rel)
        blob = self._entries().get(real)
        if blob is None:
            if real in self._dirs():
                raise SourceError(f"{rel!r} is a directory, not a file")
            raise SourceError(f"file {rel!r} does not exist at {self.ref}")
        data: bytes = blob.data_stream.read()
        return data

    def glob(self, patterns: Sequence[str]) -> list[str]:
        found = []
        for rel in self._entries():
            if any(part.startswith(".") for part in rel.split("/")[:-1]):
                continue
            if any(glob_match(p, rel) for p in patterns):
                found.append(rel)
        return sorted(found)

    def resolve(self, from_rel: str, ref: str) -> str:
        rel = normalize_ref(from_rel, ref)
        self._follow(rel)
        return rel
