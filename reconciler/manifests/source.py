"""Where manifests are read from: a directory today, a git ref (`reconciler.gittree.GitSource`) too.

Paths handed to and returned by a `Source` are repository-relative POSIX strings.
A reference that leaves the repository, through `..`, an absolute path or a symlink,
is refused with `SourceError`, as is a file that cannot be read.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from reconciler.errors import ReconcileError


class SourceError(ReconcileError):
    """A path that cannot be used: missing, unreadable, or leaving the repository."""


@runtime_checkable
class Source(Protocol):
    @property
    def label(self) -> str:
        """What to call the source in messages (a directory, `git:<ref>`)."""
        ...

    def read_bytes(self, rel: str) -> bytes:
        """The content of a repository-relative file; `SourceError` when it cannot be read."""
        ...

    def glob(self, patterns: Sequence[str]) -> list[str]:
        """Sorted repository-relative paths of regular files matching any pattern
        (`**` spans directories); files in hidden directories (`.git`, `.reconcile`) never match."""
        ...

    def resolve(self, from_rel: str, ref: str) -> str:
        """`ref` as written in `from_rel`, as a repository-relative path;
        `SourceError` when it leaves the repository (symlinks included)."""
        ...


def normalize_ref(from_rel: str, ref: str) -> str:
    """The lexical part of `resolve`, shared by every source."""
    if not ref or ref.strip() != ref:
        raise SourceError(f"file reference {ref!r} is empty or has surrounding spaces")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in ref):
        raise SourceError(f"file reference {ref!r} contains a control character")
    if "\\" in ref:
        raise SourceError(f"file reference {ref!r} must use '/' as the separator")
    if ref.startswith("/") or re.match(r"^[A-Za-z]:", ref):
        raise SourceError(f"file reference {ref!r} is absolute; use a path relative to the manifest")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(from_rel), ref))
    if joined == ".." or joined.startswith("../"):
        raise SourceError(f"file reference {ref!r} leaves the repository")
    return joined


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:[^/]*/)*"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out += "[" + body.replace("\\", "\\\\") + "]"
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    try:
        return re.compile(out + r"\Z")
    except re.error:  # e.g. a reversed range `[z-a]`: match the pattern literally instead
        return re.compile(re.escape(pattern) + r"\Z")


def glob_match(pattern: str, rel: str) -> bool:
    """Whether a repository-relative POSIX path matches a glob with `**` support."""
    return _glob_regex(pattern.removeprefix("./")).match(rel) is not None


class DirSource:
    """Manifests in a directory on disk (the working tree)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._real_root = os.path.realpath(self.root)
        # realpath per path, once: thousands of manifests reference the same few config files.
        self._checked: dict[str, str] = {}

    @property
    def label(self) -> str:
        return str(self.root)

    def _inside(self, rel: str) -> str:
        if rel in self._checked:
            return self._checked[rel]
        try:
            real = os.path.realpath(os.path.join(self._real_root, rel))
        except (ValueError, OSError) as e:  # a NUL byte, a name too long
            raise SourceError(f"cannot use path {rel!r}: {e}") from None
        if real != self._real_root and not real.startswith(self._real_root + os.sep):
            raise SourceError(f"{rel!r} is a symlink that leads outside the repository")
        self._checked[rel] = real
        return real

    def read_bytes(self, rel: str) -> bytes:
        real = self._inside(rel)
        try:
            # O_NONBLOCK: opening a named pipe must not wait for a writer; it is refused below.
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with open(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    raise SourceError(f"{rel!r} is not a regular file (a pipe, socket or device)")
                return f.read()
        except FileNotFoundError:
            raise SourceError(f"file {rel!r} does not exist") from None
        except IsADirectoryError:
            raise SourceError(f"{rel!r} is a directory, not a file") from None
        except OSError as e:
            raise SourceError(f"cannot read {rel!r}: {e.strerror}") from None

    def glob(self, patterns: Sequence[str]) -> list[str]:
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            reldir = os.path.relpath(dirpath, self.root)
            for name in filenames:
                rel = name if reldir == "." else posixpath.join(Path(reldir).as_posix(), name)
                if any(glob_match(p, rel) for p in patterns):
                    found.append(rel)
        return sorted(found)

    def resolve(self, from_rel: str, ref: str) -> str:
        rel = normalize_ref(from_rel, ref)
        self._inside(rel)
        return rel
