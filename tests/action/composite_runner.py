"""Runs action.yml's composite steps the way a runner would, with a fake GITHUB_* environment.

`run:` steps run for real with bash (`bash --noprofile --norc -eo pipefail`, as GitHub does
for `shell: bash`), with `${{ }}` expressions in `env`, `with`, `if`, `working-directory`
and the script evaluated first. `uses:` steps are third-party actions that need GitHub's
services; they are emulated by what they hand to later steps: setup-python -> this Python,
cache -> a miss, upload-artifact -> the files recorded. The `install` step is replaced by
this venv, which already has the package (running it would reinstall into the shared venv);
`test_action_lock.py` checks the lock against this venv instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\)|,)
                        |(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*))""",
    re.X,
)


def evaluate(expr: str, ctx: dict[str, Any], status: str = "success") -> Any:
    """A subset of GitHub's expression language: literals, context paths, ==, !=, !, &&,
    ||, parentheses and the status functions. Enough for action.yml; anything else fails."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse expression {expr!r} at {pos}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(expr) and expr[pos].isspace():
            pos += 1
    i = 0

    def peek() -> str:
        return tokens[i][1] if i < len(tokens) else ""

    def take() -> tuple[str, str]:
        nonlocal i
        i += 1
        return tokens[i - 1]

    def lookup(path: str) -> Any:
        value: Any = ctx
        for part in path.split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value

    def primary() -> Any:
        kind, text = take()
        if text == "!":
            return not truthy(primary())
        if text == "(":
            value = or_()
            take()
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if peek() == "(":
            take()
            take()  # status functions take no arguments
            return {
                "always": True,
                "success": status == "success",
                "failure": status == "failure",
                "cancelled": False,
            }[text]
        return lookup(text)

    def comparison() -> Any:
        left = primary()
        while peek() in ("==", "!="):
            op = take()[1]
            right = primary()
            eq = _norm(left) == _norm(right)
            left = eq if op == "==" else not eq
        return left

    def and_() -> Any:
        left = comparison()
        while peek() == "&&":
            take()
            right = comparison()
            left = right if truthy(left) else left
        return left

    def or_() -> Any:
        left = and_()
        while peek() == "||":
            take()
            right = and_()
            left = left if truthy(left) else right
        return left

    result = or_()
    if i != len(tokens):
        raise ValueError(f"trailing tokens in {expr!r}")
    return result


def _scalar(v: Any) -> str:
    """A YAML scalar as the runner passes it on: always a string, booleans lower-case."""
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _norm(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def truthy(v: Any) -> bool:
    return v not in (None, False, 0, "", 0.0)


def interpolate(text: str, ctx: dict[str, Any], status: str = "success") -> str:
    def repl(m: re.Match[str]) -> str:
        value = evaluate(m.group(1), ctx, status)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return "" if value is None else str(value)

    return re.sub(r"\$\{\{(.*?)\}\}", repl, text)


def parse_output_file(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT: `name=value` lines and `name<<DELIM` ... `DELIM` blocks."""
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    k = 0
    while k < len(lines):
        line = lines[k]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, k + 1)
            out[name] = "\n".join(lines[k + 1 : end])
            k = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        k += 1
    return out


@dataclass
class StepResult:
    id: str
    ran: bool
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepResult]
    outputs: dict[str, str]
    summary: str
    artifacts: list[dict[str, Any]]
    failed: bool

    @property
    def log(self) -> str:
        return "".join(s.stdout + s.stderr for s in self.steps)

    def annotations(self, kind: str = "error") -> list[str]:
        """Workflow-command annotations of a kind, honouring ::stop-commands:: like the runner."""
        found: list[str] = []
        stopped: str | None = None
        for s in self.steps:
            for line in s.stdout.splitlines():
                if stopped is not None:
                    if line == f"::{stopped}::":
                        stopped = None
                    continue
                if line.startswith("::stop-commands::"):
                    stopped = line.removeprefix("::stop-commands::")
                elif line.startswith(f"::{kind} ") or line.startswith(f"::{kind}::"):
                    found.append(line)
        return found


def run_action(inputs: dict[str, str], *, workspace: Path, env: dict[str, str], tmp: Path) -> ActionRun:
    """Run action.yml with `inputs` (the workflow's `with:`) in a fake job environment."""
    action = yaml.safe_load(ACTION.read_text())
    declared = action.get("inputs", {})
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs not declared in action.yml: {unknown}"
    runner_temp = tmp / "runner-temp"
    runner_temp.mkdir(parents=True, exist_ok=True)
    token = env.get("GITHUB_TOKEN_FOR_CONTEXT", "")
    ctx: dict[str, Any] = {
        "github": {
            "action_path": str(ROOT),
            "workspace": str(workspace),
            "token": token,
            "event_name": env.get("GITHUB_EVENT_NAME", ""),
        },
        "runner": {"os": "Linux", "temp": str(runner_temp)},
        "steps": {},
    }
    resolved: dict[str, str] = {}
    for name, spec in declared.items():
        default = str(spec.get("default", "")) if spec.get("default") is not None else ""
        resolved[name] = inputs.get(name, interpolate(default, ctx))
    ctx["inputs"] = resolved

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "RECONCILE_"))}
    base_env.pop("MIRU_API_KEY", None)
    base_env.pop("MIRU_BASE_URL", None)
    base_env.update(
        {
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(runner_temp),
            "RUNNER_OS": "Linux",
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_ACTIONS": "true",
        }
    )
    base_env.update({k: v for k, v in env.items() if k != "GITHUB_TOKEN_FOR_CONTEXT"})
    # The composite's `run` steps find `python` and friends the way the runner would.
    base_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base_env.get('PATH', '')}"

    status = "success"
    results: list[StepResult] = []
    summaries: list[str] = []
    artifacts: list[dict[str, Any]] = []
    for n, step in enumerate(action["runs"]["steps"]):
        sid = step.get("id") or f"__step{n}"
        condition = str(step.get("if", "success()"))
        condition = condition[3:-2] if condition.startswith("${{") else condition
        if not truthy(evaluate(condition, ctx, status)):
            results.append(StepResult(sid, ran=False))
            ctx["steps"][sid] = {"outputs": {}, "outcome": "skipped"}
            continue
        with_ = {k: interpolate(_scalar(v), ctx, status) for k, v in (step.get("with") or {}).items()}
        if "uses" in step:
            outputs = _emulate_uses(step["uses"], with_, artifacts)
            result = StepResult(sid, ran=True, outputs=outputs)
        elif sid == "install":
            result = StepResult(sid, ran=True, outputs={"python": sys.executable})
        else:
            step_env = dict(base_env)
            for k, v in (step.get("env") or {}).items():
                step_env[k] = interpolate(_scalar(v), ctx, status)
            out_file = tmp / f"output-{n}"
            summary_file = tmp / f"summary-{n}"
            out_file.write_text("")
            summary_file.write_text("")
            step_env["GITHUB_OUTPUT"] = str(out_file)
            step_env["GITHUB_STEP_SUMMARY"] = str(summary_file)
            script = tmp / f"step-{n}.sh"
            script.write_text(interpolate(step["run"], ctx, status))
            cwd = interpolate(str(step.get("working-directory", str(workspace))), ctx, status)
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=cwd,
                env=step_env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            result = StepResult(
                sid, True, proc.returncode, proc.stdout, proc.stderr, parse_output_file(out_file)
            )
            summaries.append(summary_file.read_text(encoding="utf-8"))
            if proc.returncode != 0:
                status = "failure"
        results.append(result)
        ctx["steps"][sid] = {
            "outputs": result.outputs,
            "outcome": "success" if result.returncode == 0 else "failure",
        }

    outputs = {
        name: interpolate(str(spec["value"]), ctx, status)
        for name, spec in (action.get("outputs") or {}).items()
    }
    return ActionRun(results, outputs, "".join(summaries), artifacts, failed=status == "failure")


def _emulate_uses(uses: str, with_: dict[str, str], artifacts: list[dict[str, Any]]) -> dict[str, str]:
    name = uses.split("@", 1)[0]
    if name == "actions/setup-python":
        return {
            "python-path": sys.executable,
            "python-version": ".".join(map(str, sys.version_info[:3])),
            "cache-hit": "false",
        }
    if name == "actions/cache":
        return {"cache-hit": "false"}
    if name == "actions/upload-artifact":
        root = Path(with_["path"])
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        artifacts.append({"name": with_["name"], "path": str(root), "files": files, "with": with_})
        return {"artifact-id": str(len(artifacts))}
    raise AssertionError(f"the test runner does not know how to emulate {uses}")
