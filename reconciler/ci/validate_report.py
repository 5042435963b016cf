"""Validation problems (`reconcile validate --format json`) in the job summary: a table with a
link to each file and line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.ci.report import cell
from reconciler.ci.runner import RunnerEnv
from reconciler.escape import md_code, md_text


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
