"""What the action's `run` step does: validate, then plan / apply / drift, and report.

Inputs arrive as `RECONCILE_*` environment variables (action.yml never interpolates inputs
into shell). The step exits 0 after reporting; the action's last step turns `exitcode` into
the step's failure, so the plan artifact is uploaded even when the command failed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

import httpx

from reconciler.ci import comment as gh_comment
from reconciler.ci import labels, report
from reconciler.ci.runner import (
    RunnerEnv,
    annotation,
    append_summary,
    commands_stopped,
    mask,
    set_outputs,
)
from reconciler.errors import ReconcileError, redact

COMMANDS = ("validate", "plan", "apply", "drift")
# Environment the reconcile child process must not see: it needs the Miru key, nothing else.
_CHILD_HIDDEN = ("RECONCILE_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "RECONCILE_API_KEY")


@dataclass(frozen=True)
class Inputs:
    command: str
    path: str = "."
    args: tuple[str, ...] = ()
    comment: bool = True
    base_url: str = ""
    api_key: str = ""
    github_token: str = ""
    artifact_name: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Inputs:
        env = os.environ if environ is None else environ
        command = env.get("RECONCILE_COMMAND", "plan").strip().lower()
        if command not in COMMANDS:
            raise ReconcileError(f"input `command` is {command!r}; expected one of {', '.join(COMMANDS)}")
        switch = env.get("RECONCILE_COMMENT", "on").strip().lower()
        if switch not in ("on", "off", "true", "false"):
            raise ReconcileError(f"input `comment` is {switch!r}; expected on or off")
        try:
            args = tuple(shlex.split(env.get("RECONCILE_ARGS", "")))
        except ValueError as e:
            raise ReconcileError(f"input `args` cannot be split into arguments: {e}") from None
        path = env.get("RECONCILE_PATH", "").strip() or "."
        if path.startswith("-"):  # a directory named like an option stays a path for reconcile
            path = "./" + path
        return cls(
            command=command,
            path=path,
            args=args,
            comment=switch in ("on", "true"),
            base_url=env.get("RECONCILE_BASE_URL", "").strip(),
            # Inputs win; otherwise whatever the job already exported.
            api_key=env.get("RECONCILE_API_KEY", "") or env.get("MIRU_API_KEY", ""),
            github_token=env.get("RECONCILE_GITHUB_TOKEN", "") or env.get("GITHUB_TOKEN", ""),
            artifact_name=env.get("RECONCILE_ARTIFACT_NAME", "").strip(),
        )


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str


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


def reconcile_executable() -> list[str]:
    """The `reconcile` installed next to this Python (the action's venv), unless
    RECONCILE_BIN names another one."""
    override = os.environ.get("RECONCILE_BIN", "").strip()
    if override:
        return shlex.split(override)
    bindir = Path(sys.executable).parent
    for name in ("reconcile", "reconcile.exe"):
        if (bindir / name).exists():
            return [str(bindir / name)]
    found = shutil.which("reconcile")
    if found:
        return [found]
    raise ReconcileError("cannot find the `reconcile` executable next to the Python running this step")


def child_environ(inputs: Inputs) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHILD_HIDDEN}
    if inputs.api_key:
        env["MIRU_API_KEY"] = inputs.api_key
    if inputs.base_url:
        env["MIRU_BASE_URL"] = inputs.base_url
    env.setdefault("NO_COLOR", "1")
    return env


def run_reconcile(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, out: TextIO) -> Completed:
    """Run one reconcile command: stderr is echoed live (progress), stdout is captured and
    echoed when done. Both are redacted; workflow commands in them are not interpreted."""
    cmd = [*reconcile_executable(), *argv]
    out.write(f"$ reconcile {shlex.join(argv)}\n")
    out.flush()
    stderr_lines: list[str] = []

    def pump(stream: IO[str]) -> None:
        for line in stream:
            stderr_lines.append(line)
            sys.stderr.write(redact(line))
            sys.stderr.flush()

    with commands_stopped(out):
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert proc.stdout is not None and proc.stderr is not None
        reader = threading.Thread(target=pump, args=(proc.stderr,), daemon=True)
        reader.start()
        stdout = proc.stdout.read()
        code = proc.wait()
        reader.join()
        if stdout:
            out.write(redact(stdout) if stdout.endswith("\n") else redact(stdout) + "\n")
    out.write(f"(exit {code})\n")
    out.flush()
    return Completed(code, stdout, "".join(stderr_lines))


def run(inputs: Inputs, env: RunnerEnv, out: TextIO | None = None) -> Outcome:
    stream = out or sys.stdout
    secrets_ = [s for s in (inputs.api_key, inputs.github_token) if s]
    mask(secrets_, stream)
    # So that redact() also knows the values when they came in as RECONCILE_* inputs.
    if inputs.api_key:
        os.environ["MIRU_API_KEY"] = inputs.api_key
    if inputs.github_token:
        os.environ["RECONCILE_GITHUB_TOKEN"] = inputs.github_token

    base = env.temp or Path(tempfile.gettempdir())
    workdir = base / f"reconcile-{inputs.command}-{slug(inputs.path)}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    artifact_name = inputs.artifact_name or f"reconcile-{inputs.command}-{slug(inputs.path)}"
    cwd = env.workspace or Path.cwd()
    child_env = child_environ(inputs)
    pr = env.pull_request_number
    commenting = inputs.comment and inputs.command == "plan" and pr is not None

    def finish(exitcode: int, has_changes: bool, plan_json: str = "") -> Outcome:
        outcome = Outcome(exitcode, has_changes, plan_json, str(workdir), artifact_name)
        set_outputs(env, outcome.outputs())
        return outcome

    def post(markdown: str, full: str) -> None:
        """Upsert the PR comment; `full` names the artifact file with everything, should the
        comment have to be cut."""
        if commenting and pr is not None:
            _upsert(inputs, env, pr, markdown, stream, report.artifact_note(env, full, artifact_name))

    def call(*argv: str) -> Completed:
        return run_reconcile(argv, env=child_env, cwd=cwd, out=stream)

    # 1. Validate first, always: problems become annotations and a full table in the summary.
    # Commands that talk to the platform anyway validate --online too, so content that breaks
    # the release's schema is pinned to its file and line before anything is planned.
    extra = inputs.args if inputs.command == "validate" else ("--online",)
    v = call("validate", inputs.path, "--format", "json", *extra)
    _keep(workdir / "validate.json", v.stdout)
    problems = report.parse_problems(v.stdout)
    if problems is not None:  # the same finding reached through two DeploymentSets: report it once
        problems = list(dict.fromkeys(problems))
    for problem in problems or []:
        stream.write(
            annotation(
                problem.severity,
                problem.message,
                file=problem.file or None,
                line=problem.line,
                column=problem.column,
                title="reconcile validate",
            )
            + "\n"
        )
    errors = [x for x in problems or [] if x.severity == "error"]
    if v.code != 0 or errors:
        if problems:
            md = report.problems_markdown(env, inputs.path, problems)
        else:
            title = f"reconcile validate `{inputs.path}` failed (exit {v.code})"
            md = report.failure_markdown(title, v.stderr)
            stream.write(
                annotation(
                    "error", _first_line(v.stderr, "reconcile validate failed"), title="reconcile validate"
                )
                + "\n"
            )
        append_summary(env, md)
        post(md, "validate.json")
        return finish(v.code if v.code != 0 else 1, False)
    if problems:  # warnings only
        append_summary(env, report.problems_markdown(env, inputs.path, problems))
    if inputs.command == "validate":
        if not problems:
            append_summary(env, f"### ✅ reconcile validate `{inputs.path}`: no problems\n")
        return finish(0, False)

    if inputs.command == "drift":
        d = call("drift", inputs.path, *inputs.args)
        _keep(workdir / "drift.txt", d.stdout)
        append_summary(env, report.drift_markdown(inputs.path, d.code, d.stdout, d.stderr))
        if d.code not in (0, 2):
            stream.write(
                annotation("error", _first_line(d.stderr, "reconcile drift failed"), title="reconcile drift")
                + "\n"
            )
        return finish(d.code, d.code == 2)

    # 2. Plan (apply executes exactly this plan).
    plan_json = workdir / "plan.json"
    plan_args = inputs.args if inputs.command == "plan" else _selection_args(inputs.args)
    # Leave room for the comment's marker and footer, so the plan's own cut (which says what was
    # left out) is the only cut, rather than fit_comment cutting the plan a second time.
    room = (
        gh_comment.COMMENT_LIMIT
        - gh_comment.utf16_len(gh_comment.marker_for(inputs.path))
        - gh_comment.utf16_len(report.footer(env, inputs.command, inputs.path))
        - 64
    )
    p = call(
        "plan",
        inputs.path,
        "--format",
        "markdown",
        "--out",
        str(plan_json),
        "--detailed-exitcode",
        "--full-plan-note",
        report.artifact_note(env, "plan.json", artifact_name),
        "--max-chars",
        str(room),
        *plan_args,
    )
    if p.code not in (0, 2):
        md = report.failure_markdown(f"reconcile plan `{inputs.path}` failed (exit {p.code})", p.stderr)
        if p.stdout.startswith("### reconcile plan"):  # printed, then failed (a blocked device): show both
            _keep(workdir / "plan.md", p.stdout)
            md += "\n" + p.stdout
        stream.write(
            annotation("error", _first_line(p.stderr, "reconcile plan failed"), title="reconcile plan") + "\n"
        )
        append_summary(env, md)
        post(md, "plan.json")
        return finish(p.code, False, str(plan_json) if plan_json.exists() else "")
    _keep(workdir / "plan.md", p.stdout)
    append_summary(env, p.stdout)
    post(p.stdout, "plan.json")
    has_changes = p.code == 2
    if inputs.command == "plan":
        return finish(p.code, has_changes, str(plan_json))

    # 3. Apply.
    if not has_changes:
        append_summary(env, f"### ✅ reconcile apply `{inputs.path}`: nothing to apply\n")
        return finish(0, False, str(plan_json))
    try:
        large = _allow_large(inputs, env, stream) if _over_limit(plan_json) else []
    except ReconcileError as e:
        stream.write(annotation("error", e.message, title="reconcile apply") + "\n")
        append_summary(
            env, report.failure_markdown(f"reconcile apply `{inputs.path}`: not applied", e.message)
        )
        return finish(1, True, str(plan_json))
    a = call(
        "apply",
        inputs.path,
        "--plan",
        str(plan_json),
        "--auto-approve",
        "--format",
        "json",
        *inputs.args,
        *large,
    )
    _keep(workdir / "apply.json", a.stdout)
    append_summary(env, report.apply_markdown(inputs.path, a.code, a.stdout, a.stderr, artifact_name))
    if a.code != 0:
        stream.write(
            annotation(
                "error",
                _first_line(a.stderr, f"reconcile apply failed (exit {a.code})"),
                title="reconcile apply",
            )
            + "\n"
        )
    return finish(a.code, True, str(plan_json))


def _over_limit(plan_json: Path) -> bool:
    """The plan changes more devices than `limits.max_devices_per_apply`: only then is a label
    worth asking GitHub about."""
    try:
        limits = json.loads(plan_json.read_text(encoding="utf-8")).get("limits") or {}
        return int(limits["devices"]) > int(limits["max_devices_per_apply"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _allow_large(inputs: Inputs, env: RunnerEnv, out: TextIO) -> list[str]:
    """`--allow-large N` from the label `reconcile:allow-large=N` on the pull request this commit
    came from (`reconciler.ci.labels`); none when `args` already give it."""
    if any(a == "--allow-large" or a.startswith("--allow-large=") for a in inputs.args):
        return []
    try:
        names, pr = labels.pull_request_labels(env, inputs.github_token)
    except (httpx.HTTPError, ValueError) as e:
        out.write(
            annotation(
                "warning",
                f"could not read the pull request's labels ({type(e).__name__}): no --allow-large from a label",
                title="reconcile apply",
            )
            + "\n"
        )
        return []
    n = labels.allow_large(names)
    if n is None:
        return []
    out.write(f"pull request {pr}: label {labels.PREFIX}={n}: applying with --allow-large {n}\n")
    return ["--allow-large", str(n)]


def _keep(path: Path, text: str) -> None:
    """A report for the artifact, with secrets redacted like the log (the artifact is readable
    by everyone who can read the repository)."""
    path.write_text(redact(text), encoding="utf-8")


def _first_line(text: str, default: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.startswith("hint:"):
            return line.strip()
    return default


def _upsert(inputs: Inputs, env: RunnerEnv, pr: int, markdown: str, out: TextIO, full: str) -> None:
    if not inputs.github_token:
        out.write(
            annotation(
                "warning", "no github-token: the plan is in the job summary only", title="reconcile comment"
            )
            + "\n"
        )
        return
    if not env.repository:
        out.write(
            annotation("warning", "GITHUB_REPOSITORY is not set: no PR comment", title="reconcile comment")
            + "\n"
        )
        return
    marker = gh_comment.marker_for(inputs.path)
    # Redacted here too: the comment is public wherever the repository is, unlike the log.
    body = gh_comment.fit_comment(
        marker,
        redact(markdown),
        report.footer(env, inputs.command, inputs.path),
        full=f"the job summary and {full}",
    )
    try:
        with gh_comment.client(env.api_url, inputs.github_token) as http:
            result = gh_comment.upsert_comment(http, env.repository, pr, marker, body)
    except gh_comment.CommentError as e:
        text = e.message + (f" (hint: {e.hint})" if e.hint else "")
        out.write(
            annotation("warning", f"could not update the PR comment: {text}", title="reconcile comment")
            + "\n"
        )
        return
    out.write(f"PR comment {result.action}: {result.url or result.id}\n")


def _selection_args(args: tuple[str, ...] | list[str]) -> list[str]:
    """`--set`/`--device` of apply's args, for the plan it applies: a shard plans its part only."""
    out: list[str] = []
    for i, a in enumerate(args):
        if a in ("--set", "--device") and i + 1 < len(args):
            out += [a, args[i + 1]]
        elif a.startswith(("--set=", "--device=")):
            out.append(a)
    return out
