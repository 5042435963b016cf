"""The GitHub Actions runner's side of a step: the `GITHUB_*` environment, step outputs,
the job summary, and workflow commands (annotations, masks, stop-commands).

Formats follow GitHub's "Workflow commands for GitHub Actions" documentation.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from reconciler.errors import redact
from reconciler.escape import terminal_lines
from reconciler.workflow_commands import command

# GitHub rejects a step summary over 1 MiB; keep a margin for the truncation note.
SUMMARY_LIMIT_BYTES = 1024 * 1024 - 4096


@dataclass(frozen=True)
class RunnerEnv:
    """What a step can learn from the runner. Everything is optional so that the same code
    runs outside GitHub (then outputs and summary are simply not written)."""

    event_name: str = ""
    event: Mapping[str, Any] | None = None
    output_file: Path | None = None
    summary_file: Path | None = None
    workspace: Path | None = None
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    repository: str = ""
    sha: str = ""
    run_id: str = ""
    job: str = ""
    temp: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RunnerEnv:
        env = os.environ if environ is None else environ

        def path(name: str) -> Path | None:
            value = env.get(name, "")
            return Path(value) if value else None

        event: Mapping[str, Any] | None = None
        event_path = path("GITHUB_EVENT_PATH")
        if event_path is not None and event_path.is_file():
            loaded = json.loads(event_path.read_text(encoding="utf-8"))
            event = loaded if isinstance(loaded, dict) else None
        return cls(
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event,
            output_file=path("GITHUB_OUTPUT"),
            summary_file=path("GITHUB_STEP_SUMMARY"),
            workspace=path("GITHUB_WORKSPACE"),
            api_url=env.get("GITHUB_API_URL", "") or "https://api.github.com",
            server_url=env.get("GITHUB_SERVER_URL", "") or "https://github.com",
            repository=env.get("GITHUB_REPOSITORY", ""),
            sha=env.get("GITHUB_SHA", ""),
            run_id=env.get("GITHUB_RUN_ID", ""),
            job=env.get("GITHUB_JOB", ""),
            temp=path("RUNNER_TEMP"),
        )

    @property
    def pull_request_number(self) -> int | None:
        """The PR number for pull_request / pull_request_target events, else None."""
        if self.event_name not in ("pull_request", "pull_request_target") or not self.event:
            return None
        pr = self.event.get("pull_request")
        number = pr.get("number") if isinstance(pr, dict) else self.event.get("number")
        return number if isinstance(number, int) else None

    @property
    def head_sha(self) -> str:
        """The commit the user pushed (on a PR GITHUB_SHA is the temporary merge commit)."""
        if self.event:
            pr = self.event.get("pull_request")
            if isinstance(pr, dict) and isinstance(pr.get("head"), dict):
                sha = pr["head"].get("sha")
                if isinstance(sha, str) and sha:
                    return sha
        return self.sha

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def set_outputs(env: RunnerEnv, outputs: Mapping[str, str]) -> None:
    """Append step outputs to $GITHUB_OUTPUT, in the multi-line form so any value is safe."""
    if env.output_file is None:
        return
    with env.output_file.open("a", encoding="utf-8") as f:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            f.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(env: RunnerEnv, markdown: str) -> None:
    """Append markdown to the job summary, truncated under GitHub's 1 MiB per-step limit."""
    if env.summary_file is None:
        return
    existing = env.summary_file.stat().st_size if env.summary_file.exists() else 0
    text = fit_bytes(redact(markdown), SUMMARY_LIMIT_BYTES - existing)
    with env.summary_file.open("a", encoding="utf-8") as f:
        # A blank line after each part, so a table or list never runs into the next part.
        f.write(text.rstrip("\n") + "\n\n")


def fit_bytes(text: str, limit: int) -> str:
    """Cut `text` at a line boundary so its UTF-8 encoding stays within `limit` bytes."""
    if len(text.encode("utf-8")) <= limit:
        return text
    note = "\n\n_(truncated: the rest is in the workflow log and the uploaded artifact)_\n"
    budget = max(0, limit - len(note.encode("utf-8")))
    cut = text.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    if "\n" in cut:
        cut = cut[: cut.rfind("\n")]
    return cut + note


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
