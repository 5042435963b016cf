"""One run of the action's step: where its reports go (the work dir, kept as the artifact), how it
runs reconcile, annotates, writes the summary, posts the PR comment and sets its outputs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from reconciler.ci import report
from reconciler.ci.child import Completed, run_reconcile
from reconciler.ci.inputs import Inputs
from reconciler.ci.log_commands import annotation
from reconciler.ci.pr_comment import upsert
from reconciler.ci.runner import RunnerEnv
from reconciler.ci.step_files import append_summary, set_outputs
from reconciler.errors import redact


@dataclass(frozen=True)
class Outcome:
    exitcode: int
    has_changes: bool
    plan_json: str
    artifact_dir: str
    artifact_name: str

    def outputs(self) -> dict[str, str]:
        return {
            "exitcode": str(self.exitcode),
            "has-changes": "true" if self.has_changes else "false",
            "plan-json": self.plan_json,
            "artifact-dir": self.artifact_dir,
            "artifact-name": self.artifact_name,
        }


def slug(path: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", path.strip().strip("/")).strip("-.")
    return s or "root"


def keep(path: Path, text: str) -> None:
    """A report for the artifact, with secrets redacted like the log (the artifact is readable
    by everyone who can read the repository)."""
    path.write_text(redact(text), encoding="utf-8")


def first_line(text: str, default: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.startswith("hint:"):
            return line.strip()
    return default


@dataclass(frozen=True)
class Job:
    inputs: Inputs
    env: RunnerEnv
    stream: TextIO
    workdir: Path
    artifact_name: str
    cwd: Path
    child_env: dict[str, str]

    def call(self, *argv: str) -> Completed:
        return run_reconcile(argv, env=self.child_env, cwd=self.cwd, out=self.stream)

    def keep(self, name: str, text: str) -> None:
        keep(self.workdir / name, text)

    def summary(self, markdown: str) -> None:
        append_summary(self.env, markdown)

    def error(self, stderr: str, default: str, title: str) -> None:
        """An error annotation: the first line reconcile printed on stderr, else `default`."""
        self.stream.write(annotation("error", first_line(stderr, default), title=title) + "\n")

    def post(self, markdown: str, full: str) -> None:
        """Upsert the PR comment (plan runs on a pull request, unless the comment input is off);
        `full` names the artifact file with everything, should the comment have to be cut."""
        pr = self.env.pull_request_number
        if self.inputs.comment and self.inputs.command == "plan" and pr is not None:
            note = report.artifact_note(self.env, full, self.artifact_name)
            upsert(self.inputs, self.env, pr, markdown, self.stream, note)

    def finish(self, exitcode: int, has_changes: bool, plan_json: str = "") -> Outcome:
        outcome = Outcome(exitcode, has_changes, plan_json, str(self.workdir), self.artifact_name)
        set_outputs(self.env, outcome.outputs())
        return outcome
