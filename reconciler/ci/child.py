"""Running reconcile as a child process: the executable next to this Python, an environment
without the GitHub token, stderr echoed live and stdout captured, both redacted."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

from reconciler.ci.inputs import Inputs
from reconciler.ci.log_commands import commands_stopped
from reconciler.errors import ReconcileError, redact

# Environment the reconcile child process must not see: it needs the Miru key, nothing else.
_CHILD_HIDDEN = ("RECONCILE_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "RECONCILE_API_KEY")


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str


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
        proc = _spawn(cmd, cwd, env)
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


def _spawn(cmd: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
