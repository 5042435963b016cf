"""The plan as the pull request's comment, updated in place (one comment per path); without a
token or a repository, a warning and the job summary only."""

from __future__ import annotations

from typing import TextIO

from reconciler.ci import comment as gh_comment
from reconciler.ci import comment_body, report
from reconciler.ci.inputs import Inputs
from reconciler.ci.log_commands import annotation
from reconciler.ci.runner import RunnerEnv
from reconciler.errors import redact


def upsert(inputs: Inputs, env: RunnerEnv, pr: int, markdown: str, out: TextIO, full: str) -> None:
    if not inputs.github_token:
        return _warn(out, "no github-token: the plan is in the job summary only")
    if not env.repository:
        return _warn(out, "GITHUB_REPOSITORY is not set: no PR comment")
    marker = comment_body.marker_for(inputs.path)
    # Redacted here too: the comment is public wherever the repository is, unlike the log.
    footer = report.footer(env, inputs.command, inputs.path)
    body = comment_body.fit_comment(marker, redact(markdown), footer, full=f"the job summary and {full}")
    try:
        with gh_comment.client(env.api_url, inputs.github_token) as http:
            result = gh_comment.upsert_comment(http, env.repository, pr, marker, body)
    except gh_comment.CommentError as e:
        text = e.message + (f" (hint: {e.hint})" if e.hint else "")
        return _warn(out, f"could not update the PR comment: {text}")
    out.write(f"PR comment {result.action}: {result.url or result.id}\n")


def _warn(out: TextIO, message: str) -> None:
    out.write(annotation("warning", message, title="reconcile comment") + "\n")
