"""Workflow commands in the step's log (annotations, masks, stop-commands), written only where a
GitHub Actions runner reads them; elsewhere annotations are plain lines.

Formats follow GitHub's "Workflow commands for GitHub Actions" documentation."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from reconciler.errors import redact
from reconciler.escape import terminal_lines
from reconciler.workflow_commands import command


def on_actions(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a GitHub Actions runner reads this output. Elsewhere (another CI, a laptop)
    workflow commands are plain text in a log: `::add-mask::<key>` would print the key."""
    return (os.environ if environ is None else environ).get("GITHUB_ACTIONS") == "true"


def annotation(
    severity: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    column: int | None = None,
    title: str | None = None,
) -> str:
    kind = severity if severity in ("error", "warning", "notice") else "error"
    if not on_actions():
        where = ":".join(str(x) for x in (file, line, column) if x is not None)
        head = f"{title}: " if title else ""
        return terminal_lines(f"{head}{where + ': ' if where else ''}{kind}: {redact(message)}")
    return command(kind, redact(message), title=title, file=file, line=line, col=column)


def mask(values: list[str], out: TextIO | None = None) -> None:
    """Register secrets with the runner so it replaces them with *** in the log, one line
    at a time (the runner masks per line). Only on GitHub Actions: anywhere else the line
    would print the secret in clear."""
    if not on_actions():
        return
    stream = out or sys.stdout
    for value in values:
        for line in value.splitlines():
            if line.strip():
                stream.write(f"::add-mask::{line}\n")
    stream.flush()


@contextmanager
def commands_stopped(out: TextIO | None = None) -> Iterator[None]:
    """While echoing text we do not control (manifest content, plan output), stop the runner
    from interpreting `::...::` lines in it as workflow commands (on GitHub Actions only)."""
    if not on_actions():
        yield
        return
    stream = out or sys.stdout
    token = secrets.token_hex(16)
    stream.write(f"::stop-commands::{token}\n")
    stream.flush()
    try:
        yield
    finally:
        stream.flush()
        sys.stderr.flush()
        stream.write(f"::{token}::\n")
        stream.flush()
