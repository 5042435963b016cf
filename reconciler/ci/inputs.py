"""The action's inputs, from the `RECONCILE_*` environment variables action.yml sets (it never
interpolates inputs into shell)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.errors import ReconcileError

COMMANDS = ("validate", "plan", "apply", "drift")


@dataclass(frozen=True)
class Inputs:
    command: str
    path: str = "."
    args: tuple[str, ...] = ()
    comment: bool = True
    base_url: str = ""
    api_key: str = ""
    github_token: str = ""
    artifact_name: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Inputs:
        env = os.environ if environ is None else environ
        command = env.get("RECONCILE_COMMAND", "plan").strip().lower()
        if command not in COMMANDS:
            raise ReconcileError(f"input `command` is {command!r}; expected one of {', '.join(COMMANDS)}")
        switch = env.get("RECONCILE_COMMENT", "on").strip().lower()
        if switch not in ("on", "off", "true", "false"):
            raise ReconcileError(f"input `comment` is {switch!r}; expected on or off")
        try:
            args = tuple(shlex.split(env.get("RECONCILE_ARGS", "")))
        except ValueError as e:
            raise ReconcileError(f"input `args` cannot be split into arguments: {e}") from None
        path = env.get("RECONCILE_PATH", "").strip() or "."
        if path.startswith("-"):  # a directory named like an option stays a path for reconcile
            path = "./" + path
        return cls(
            command=command,
            path=path,
            args=args,
            comment=switch in ("on", "true"),
            base_url=env.get("RECONCILE_BASE_URL", "").strip(),
            # Inputs win; otherwise whatever the job already exported.
            api_key=env.get("RECONCILE_API_KEY", "") or env.get("MIRU_API_KEY", ""),
            github_token=env.get("RECONCILE_GITHUB_TOKEN", "") or env.get("GITHUB_TOKEN", ""),
            artifact_name=env.get("RECONCILE_ARTIFACT_NAME", "").strip(),
        )
