"""`python -m reconciler.ci <subcommand>`: the GitHub Action's steps.

- `run`: what action.yml's run step does (inputs from RECONCILE_* variables).
- `comment --path P --body-file F`: upsert the PR comment for path P with a markdown file
  (for workflows that build their own comment).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from reconciler.ci import comment as gh_comment
from reconciler.ci import comment_body, steps
from reconciler.ci.inputs import Inputs
from reconciler.ci.log_commands import annotation, mask
from reconciler.ci.runner import RunnerEnv
from reconciler.errors import EXIT_ERROR, ReconcileError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reconciler.ci")
    sub = parser.add_subparsers(dest="subcommand", required=True)
    sub.add_parser("run", help="run the action's command and report (inputs from RECONCILE_* env)")
    c = sub.add_parser("comment", help="create or update the PR comment for a path")
    c.add_argument("--path", required=True, help="project path the comment is for (its marker)")
    c.add_argument("--body-file", required=True, type=Path, help="markdown to post")
    args = parser.parse_args(argv)
    try:
        if args.subcommand == "run":
            steps.run(Inputs.from_environ(), RunnerEnv.from_environ())
            return 0
        return _comment(args.path, args.body_file)
    except ReconcileError as e:
        print(annotation("error", e.message, title="reconcile action"))
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return EXIT_ERROR


def _comment(path: str, body_file: Path) -> int:
    env = RunnerEnv.from_environ()
    token = os.environ.get("RECONCILE_GITHUB_TOKEN", "") or os.environ.get("GITHUB_TOKEN", "")
    mask([token] if token else [])
    pr = env.pull_request_number
    if pr is None:
        raise ReconcileError(f"not a pull_request event ({env.event_name or 'no GITHUB_EVENT_NAME'})")
    if not token:
        raise ReconcileError("no GitHub token: set RECONCILE_GITHUB_TOKEN or GITHUB_TOKEN")
    marker = comment_body.marker_for(path)
    body = comment_body.fit_comment(marker, body_file.read_text(encoding="utf-8"))
    with gh_comment.client(env.api_url, token) as http:
        result = gh_comment.upsert_comment(http, env.repository, pr, marker, body)
    print(f"PR comment {result.action}: {result.url or result.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
