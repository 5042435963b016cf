"""Problems rendered for people (text), machines (json, `schemas/validate-output.schema.json`)
and GitHub Actions (workflow-command annotations)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.errors import Problem, display_path, redact
from reconciler.escape import json_text, terminal_lines
from reconciler.workflow_commands import command


def as_dicts(problems: Sequence[Problem], root: Path) -> list[dict[str, Any]]:
    return [
        {
            "file": display_path(root, p.location.file),
            "line": p.location.line,
            "column": p.location.column,
            "message": redact(p.message),
            "json_path": p.location.json_path,
            "severity": p.severity,
        }
        for p in problems
    ]


def render_text(problems: Sequence[Problem], root: Path) -> str:
    # The same lines plan and apply print for a ValidationFailed (Problem.format_text).
    return terminal_lines("\n".join(redact(p.format_text(root)) for p in problems))


def render_json(problems: Sequence[Problem], root: Path) -> str:
    return json_text(as_dicts(problems, root))


def render_github(problems: Sequence[Problem], root: Path) -> str:
    """`::error file=…,line=…,col=…::message` lines (GitHub's workflow commands), escaped
    as GitHub's toolkit does so a message cannot end the command early."""
    return "\n".join(
        command(d["severity"], d["message"], file=d["file"], line=d["line"], col=d["column"])
        for d in as_dicts(problems, root)
    )


def relative_root(path: Path) -> Path:
    """The project directory of a validate PATH argument (a dir or its reconcile.yaml)."""
    return path.parent if path.is_file() else path


__all__ = ["as_dicts", "display_path", "relative_root", "render_github", "render_json", "render_text"]
