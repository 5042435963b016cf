"""What the action's `run` step does: validate, then plan / apply / drift, and report.

Inputs arrive as `RECONCILE_*` environment variables (action.yml never interpolates inputs
into shell). The step exits 0 after reporting; the action's last step turns `exitcode` into
the step's failure, so the plan artifact is uploaded even when the command failed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from reconciler.ci import report, validate_report
from reconciler.ci.apply_step import apply
from reconciler.ci.child import child_environ
from reconciler.ci.inputs import Inputs
from reconciler.ci.job import Job, Outcome, slug
from reconciler.ci.log_commands import annotation, mask
from reconciler.ci.plan_step import plan
from reconciler.ci.runner import RunnerEnv


def run(inputs: Inputs, env: RunnerEnv, out: TextIO | None = None) -> Outcome:
    stream = out or sys.stdout
    mask([s for s in (inputs.api_key, inputs.github_token) if s], stream)
    # So that redact() also knows the values when they came in as RECONCILE_* inputs.
    if inputs.api_key:
        os.environ["MIRU_API_KEY"] = inputs.api_key
    if inputs.github_token:
        os.environ["RECONCILE_GITHUB_TOKEN"] = inputs.github_token
    name = f"reconcile-{inputs.command}-{slug(inputs.path)}"
    workdir = (env.temp or Path(tempfile.gettempdir())) / name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    cwd = env.workspace or Path.cwd()
    job = Job(inputs, env, stream, workdir, inputs.artifact_name or name, cwd, child_environ(inputs))
    ended = validate(job)
    if ended is not None:
        return ended
    if inputs.command == "drift":
        return drift(job)
    ended, has_changes = plan(job)  # apply executes exactly this plan
    if ended is not None:
        return ended
    return apply(job, has_changes)


def validate(job: Job) -> Outcome | None:
    """Validate first, always: problems become annotations and a full table in the summary.
    Commands that talk to the platform anyway validate --online too, so content that breaks the
    release's schema is pinned to its file and line before anything is planned."""
    inputs = job.inputs
    extra = inputs.args if inputs.command == "validate" else ("--online",)
    v = job.call("validate", inputs.path, "--format", "json", *extra)
    job.keep("validate.json", v.stdout)
    problems = validate_report.parse_problems(v.stdout)
    if problems is not None:  # the same finding reached through two DeploymentSets: report it once
        problems = list(dict.fromkeys(problems))
    _annotate(job, problems or [])
    if v.code != 0 or any(x.severity == "error" for x in problems or []):
        if problems:
            md = validate_report.problems_markdown(job.env, inputs.path, problems)
        else:
            md = report.failure_markdown(
                f"reconcile validate `{inputs.path}` failed (exit {v.code})", v.stderr
            )
            job.error(v.stderr, "reconcile validate failed", "reconcile validate")
        job.summary(md)
        job.post(md, "validate.json")
        return job.finish(v.code if v.code != 0 else 1, False)
    if problems:  # warnings only
        job.summary(validate_report.problems_markdown(job.env, inputs.path, problems))
    if inputs.command != "validate":
        return None
    if not problems:
        job.summary(f"### ✅ reconcile validate `{inputs.path}`: no problems\n")
    return job.finish(0, False)


def drift(job: Job) -> Outcome:
    d = job.call("drift", job.inputs.path, *job.inputs.args)
    job.keep("drift.txt", d.stdout)
    job.summary(report.drift_markdown(job.inputs.path, d.code, d.stdout, d.stderr))
    if d.code not in (0, 2):
        job.error(d.stderr, "reconcile drift failed", "reconcile drift")
    return job.finish(d.code, d.code == 2)


def _annotate(job: Job, problems: list[validate_report.ValidationProblem]) -> None:
    """One annotation per problem, at its file and line."""
    t = "reconcile validate"
    for p in problems:
        a = annotation(p.severity, p.message, file=p.file or None, line=p.line, column=p.column, title=t)
        job.stream.write(a + "\n")
