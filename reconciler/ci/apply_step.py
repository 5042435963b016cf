"""The apply phase: apply exactly the plan the plan phase wrote, with `--allow-large N` from a
`reconcile:allow-large=N` label when the plan changes more devices than the project allows
(`labels`)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from reconciler.ci import apply_report, labels, report
from reconciler.ci.job import Job, Outcome
from reconciler.ci.log_commands import annotation
from reconciler.errors import ReconcileError


def apply(job: Job, has_changes: bool) -> Outcome:
    inputs, plan_json = job.inputs, str(job.workdir / "plan.json")
    if not has_changes:
        job.summary(f"### ✅ reconcile apply `{inputs.path}`: nothing to apply\n")
        return job.finish(0, False, plan_json)
    try:
        large = _allow_large(job) if _over_limit(Path(plan_json)) else []
    except ReconcileError as e:
        job.stream.write(annotation("error", e.message, title="reconcile apply") + "\n")
        job.summary(report.failure_markdown(f"reconcile apply `{inputs.path}`: not applied", e.message))
        return job.finish(1, True, plan_json)
    argv = ("--plan", plan_json, "--auto-approve", "--format", "json", *inputs.args, *large)
    a = job.call("apply", inputs.path, *argv)
    job.keep("apply.json", a.stdout)
    job.summary(apply_report.apply_markdown(inputs.path, a.code, a.stdout, a.stderr, job.artifact_name))
    if a.code != 0:
        job.error(a.stderr, f"reconcile apply failed (exit {a.code})", "reconcile apply")
    return job.finish(a.code, True, plan_json)


def _over_limit(plan_json: Path) -> bool:
    """The plan changes more devices than `limits.max_devices_per_apply`: only then is a label
    worth asking GitHub about."""
    try:
        limits = json.loads(plan_json.read_text(encoding="utf-8")).get("limits") or {}
        return int(limits["devices"]) > int(limits["max_devices_per_apply"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _allow_large(job: Job) -> list[str]:
    """`--allow-large N` from the label `reconcile:allow-large=N` on the pull request this commit
    came from (`reconciler.ci.labels`); none when `args` already give it."""
    inputs, out = job.inputs, job.stream
    if any(a == "--allow-large" or a.startswith("--allow-large=") for a in inputs.args):
        return []
    try:
        names, pr = labels.pull_request_labels(job.env, inputs.github_token)
    except (httpx.HTTPError, ValueError) as e:
        why = f"could not read the pull request's labels ({type(e).__name__}): no --allow-large from a label"
        out.write(annotation("warning", why, title="reconcile apply") + "\n")
        return []
    n = labels.allow_large(names)
    if n is None:
        return []
    out.write(f"pull request {pr}: label {labels.PREFIX}={n}: applying with --allow-large {n}\n")
    return ["--allow-large", str(n)]
