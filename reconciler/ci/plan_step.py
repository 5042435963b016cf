"""The plan phase: plan to markdown (cut to fit the PR comment) and to JSON, the plan apply then
executes."""

from __future__ import annotations

from reconciler.ci import comment_body, report
from reconciler.ci.job import Job, Outcome


def plan(job: Job) -> tuple[Outcome | None, bool]:
    """Plan; (the outcome when the run ends here, whether the plan has changes)."""
    inputs, env = job.inputs, job.env
    plan_json = job.workdir / "plan.json"
    plan_args = inputs.args if inputs.command == "plan" else _selection_args(inputs.args)
    note = report.artifact_note(env, "plan.json", job.artifact_name)
    p = job.call(
        *("plan", inputs.path, "--format", "markdown", "--out", str(plan_json), "--detailed-exitcode"),
        *("--full-plan-note", note, "--max-chars", str(_room(job)), *plan_args),
    )
    if p.code not in (0, 2):
        md = report.failure_markdown(f"reconcile plan `{inputs.path}` failed (exit {p.code})", p.stderr)
        if p.stdout.startswith("### reconcile plan"):  # printed, then failed (a blocked device): show both
            job.keep("plan.md", p.stdout)
            md += "\n" + p.stdout
        job.error(p.stderr, "reconcile plan failed", "reconcile plan")
        job.summary(md)
        job.post(md, "plan.json")
        return job.finish(p.code, False, str(plan_json) if plan_json.exists() else ""), False
    job.keep("plan.md", p.stdout)
    job.summary(p.stdout)
    job.post(p.stdout, "plan.json")
    has_changes = p.code == 2
    if inputs.command == "plan":
        return job.finish(p.code, has_changes, str(plan_json)), has_changes
    return None, has_changes


def _room(job: Job) -> int:
    """Characters the plan may take in the comment. Room is left for the comment's marker and
    footer, so the plan's own cut (which says what was left out) is the only cut, rather than
    fit_comment cutting the plan a second time."""
    inputs = job.inputs
    marker = comment_body.marker_for(inputs.path)
    footer = report.footer(job.env, inputs.command, inputs.path)
    return comment_body.COMMENT_LIMIT - comment_body.utf16_len(marker) - comment_body.utf16_len(footer) - 64


def _selection_args(args: tuple[str, ...] | list[str]) -> list[str]:
    """`--set`/`--device` of apply's args, for the plan it applies: a shard plans its part only."""
    out: list[str] = []
    for i, a in enumerate(args):
        if a in ("--set", "--device") and i + 1 < len(args):
            out += [a, args[i + 1]]
        elif a.startswith(("--set=", "--device=")):
            out.append(a)
    return out
