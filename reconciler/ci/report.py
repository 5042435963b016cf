"""Markdown for the job summary and the pull-request comment: failures, drift, the artifact note
and the footer (validation problems are in `validate_report`, the apply result in
`apply_report`)."""

from __future__ import annotations

from reconciler.ci.runner import RunnerEnv
from reconciler.escape import LINE_LIMIT, md_block, md_code, md_text


def cell(text: str) -> str:
    """Text safe inside a markdown table cell, a list item or a `<summary>` (md_text: no HTML,
    link, mention or line break; `|` is escaped too)."""
    return md_text(text, LINE_LIMIT)


def failure_markdown(title: str, stderr: str) -> str:
    text = stderr.strip() or "(no output)"
    return f"### ❌ {title}\n\n{md_block(text)}"


def artifact_note(env: RunnerEnv, file: str, artifact: str) -> str:
    """Where a reader finds a file the action uploaded: markdown naming the workflow artifact,
    linked to the run (its artifacts are listed at the bottom of the run's page)."""
    where = f"the workflow artifact `{artifact}`"
    if env.run_url:
        where = f"[{where}]({env.run_url}#artifacts)"
    return f"`{file}` in {where}"


def footer(env: RunnerEnv, command: str, path: str) -> str:
    bits = [f"`reconcile {command}` for {md_code(path)}"]
    if env.head_sha:
        bits.append(f"commit {env.head_sha[:7]}")
    if env.run_url:
        bits.append(f"[workflow run]({env.run_url})")
    return "\n<sub>" + " · ".join(bits) + "</sub>"


def drift_markdown(path: str, exitcode: int, stdout: str, stderr: str) -> str:
    if exitcode == 0:
        head = f"### ✅ reconcile drift {md_code(path)}: live state matches the manifests\n\n"
    elif exitcode == 2:
        head = f"### ⚠️ reconcile drift {md_code(path)}: drift found\n\n"
    else:
        return failure_markdown(f"reconcile drift {md_code(path)} failed (exit {exitcode})", stderr or stdout)
    text = stdout.strip()
    return head + (md_block(text) if text else "")
