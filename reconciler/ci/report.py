"""Markdown for the job summary and the pull-request comment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.ci.runner import RunnerEnv
from reconciler.escape import LINE_LIMIT, md_block, md_code, md_text


@dataclass(frozen=True)
class ValidationProblem:
    """One entry of `reconcile validate --format json` (schemas/validate-output.schema.json)."""

    file: str
    line: int | None
    column: int | None
    message: str
    json_path: str | None = None
    severity: str = "error"

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> ValidationProblem:
        def opt_int(value: Any) -> int | None:
            return value if isinstance(value, int) and value > 0 else None

        return cls(
            file=str(item.get("file") or ""),
            line=opt_int(item.get("line")),
            column=opt_int(item.get("column")),
            message=str(item.get("message") or ""),
            json_path=item.get("json_path") if isinstance(item.get("json_path"), str) else None,
            severity="warning" if item.get("severity") == "warning" else "error",
        )

    @property
    def where(self) -> str:
        parts = [self.file or "?"]
        if self.line:
            parts.append(str(self.line))
            if self.column:
                parts.append(str(self.column))
        return ":".join(parts)


def parse_problems(stdout: str) -> list[ValidationProblem] | None:
    """The problems from validate's JSON output, or None when stdout is not that JSON
    (e.g. the command failed before it could validate)."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        return None
    return [ValidationProblem.from_json(i) for i in data]


def cell(text: str) -> str:
    """Text safe inside a markdown table cell, a list item or a `<summary>` (md_text: no HTML,
    link, mention or line break; `|` is escaped too)."""
    return md_text(text, LINE_LIMIT)


def file_link(env: RunnerEnv, problem: ValidationProblem) -> str:
    label = md_code(problem.where).replace("|", "\\|")  # a pipe splits a table cell even in code
    if not (env.repository and env.head_sha and problem.file) or problem.file.startswith(("/", "..")):
        return label
    anchor = f"#L{problem.line}" if problem.line else ""
    target = quote(f"{env.repository}/blob/{env.head_sha}/{problem.file}")
    return f"[{label}]({env.server_url}/{target}{anchor})"


def problems_markdown(env: RunnerEnv, path: str, problems: Sequence[ValidationProblem]) -> str:
    """Every problem in one table: the annotations GitHub shows stop at 10 per step."""
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    counts = ", ".join(x for x in (_count(errors, "error"), _count(warnings, "warning")) if x)
    rows = ["| | Where | Problem | JSON path |", "|---|---|---|---|"]
    for p in problems:
        icon = "❌" if p.severity == "error" else "⚠️"
        json_path = md_code(p.json_path).replace("|", "\\|") if p.json_path else ""
        rows.append(f"| {icon} | {file_link(env, p)} | {cell(p.message)} | {json_path} |")
    table = "\n".join(rows) + "\n"
    if errors:
        return f"### ❌ reconcile validate {md_code(path)}: {counts}\n\n{table}"
    # Warnings alone do not block anything: keep them out of the way of the plan.
    summary = f"⚠️ reconcile validate <code>{md_text(path)}</code>: {counts}"  # HTML: no markdown here
    return f"<details><summary>{summary}</summary>\n\n{table}\n</details>\n"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}" if n else ""


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


def apply_markdown(path: str, exitcode: int, stdout: str, stderr: str, artifact: str = "") -> str:
    """The apply result (`reconcile apply --format json`): counts, one row per rollout, and the
    devices that did not simply succeed. The full JSON is in the artifact, not the summary."""
    ok = exitcode == 0
    outcome = "succeeded" if ok else f"exit {exitcode}"
    md = f"### {'✅' if ok else '❌'} reconcile apply {md_code(path)}: {outcome}\n\n"
    try:
        data: Any = json.loads(stdout)
    except ValueError:
        data = None
    if isinstance(data, dict):
        counts = _dict(data.get("summary"))
        parts = [f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if isinstance(n, int) and n]
        if parts:
            md += "**Devices: " + ", ".join(parts) + ".**\n\n"
        rollouts = [r for r in data.get("rollouts") or [] if isinstance(r, dict)]
        if rollouts:
            md += "| Rollout | DeploymentSet | Strategy | Release | State | Updated | Failed |\n"
            md += "|---|---|---|---|---|---|---|\n"
            for r in rollouts:
                st = _dict(r.get("status"))
                spec = _dict(r.get("spec"))
                release = f"{r.get('from_version') or '?'} → {r.get('to_version') or '?'}"
                state = str(st.get("state", "?"))
                if st.get("message"):
                    state += f" ({cell(str(st['message']))})"
                md += (
                    f"| {cell(str(r.get('id', '')))} | {cell(str(r.get('deployment_set', '')))} "
                    f"| {cell(str(spec.get('strategy', '')))} | {cell(release)} | {state} "
                    f"| {st.get('updated_nodes', '?')}/{st.get('total_nodes', '?')} "
                    f"| {st.get('failed_nodes', '?')} |\n"
                )
            md += "\n"
        ledger = [e for e in data.get("ledger") or [] if isinstance(e, dict)]
        # Blocked devices are in the ledger too (not_attempted); they are listed once, below.
        notable = [e for e in ledger if e.get("state") != "succeeded" and e.get("action") != "blocked"]
        blocked = [b for b in data.get("blocked") or [] if isinstance(b, dict)]
        if notable or blocked:
            md += "<details><summary>Devices needing attention</summary>\n\n"
            for e in notable[:500]:
                md += (
                    f"- **{cell(str(e.get('device', '?')))}** ({cell(str(e.get('deployment_set', '')))}): "
                    f"{cell(str(e.get('state', '?')))} {cell(str(e.get('reason') or ''))}\n"
                )
            for b in blocked[:500]:
                md += (
                    f"- **{cell(str(b.get('device', '?')))}** ({cell(str(b.get('deployment_set', '')))}): "
                    f"blocked in the plan, not touched: {cell(str(b.get('reason') or ''))}\n"
                )
            if len(notable) > 500 or len(blocked) > 500:
                md += "- … (the rest is in the artifact)\n"
            md += "\n</details>\n\n"
    if artifact:
        md += f"Full result: `apply.json` in the artifact `{artifact}`.\n"
    if not ok and stderr.strip():
        md += "\n" + failure_markdown("errors", stderr)
    return md


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def drift_markdown(path: str, exitcode: int, stdout: str, stderr: str) -> str:
    if exitcode == 0:
        head = f"### ✅ reconcile drift {md_code(path)}: live state matches the manifests\n\n"
    elif exitcode == 2:
        head = f"### ⚠️ reconcile drift {md_code(path)}: drift found\n\n"
    else:
        return failure_markdown(f"reconcile drift {md_code(path)} failed (exit {exitcode})", stderr or stdout)
    text = stdout.strip()
    return head + (md_block(text) if text else "")
