"""The GitHub Actions runner's side of a step: the `GITHUB_*` environment. Step outputs and the
job summary are written by `step_files`, workflow commands by `log_commands`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunnerEnv:
    """What a step can learn from the runner. Everything is optional so that the same code
    runs outside GitHub (then outputs and summary are simply not written)."""

    event_name: str = ""
    event: Mapping[str, Any] | None = None
    output_file: Path | None = None
    summary_file: Path | None = None
    workspace: Path | None = None
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    repository: str = ""
    sha: str = ""
    run_id: str = ""
    job: str = ""
    temp: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RunnerEnv:
        env = os.environ if environ is None else environ

        def path(name: str) -> Path | None:
            value = env.get(name, "")
            return Path(value) if value else None

        event: Mapping[str, Any] | None = None
        event_path = path("GITHUB_EVENT_PATH")
        if event_path is not None and event_path.is_file():
            loaded = json.loads(event_path.read_text(encoding="utf-8"))
            event = loaded if isinstance(loaded, dict) else None
        return cls(
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event,
            output_file=path("GITHUB_OUTPUT"),
            summary_file=path("GITHUB_STEP_SUMMARY"),
            workspace=path("GITHUB_WORKSPACE"),
            api_url=env.get("GITHUB_API_URL", "") or "https://api.github.com",
            server_url=env.get("GITHUB_SERVER_URL", "") or "https://github.com",
            repository=env.get("GITHUB_REPOSITORY", ""),
            sha=env.get("GITHUB_SHA", ""),
            run_id=env.get("GITHUB_RUN_ID", ""),
            job=env.get("GITHUB_JOB", ""),
            temp=path("RUNNER_TEMP"),
        )

    @property
    def pull_request_number(self) -> int | None:
        """The PR number for pull_request / pull_request_target events, else None."""
        if self.event_name not in ("pull_request", "pull_request_target") or not self.event:
            return None
        pr = self.event.get("pull_request")
        number = pr.get("number") if isinstance(pr, dict) else self.event.get("number")
        return number if isinstance(number, int) else None

    @property
    def head_sha(self) -> str:
        """The commit the user pushed (on a PR GITHUB_SHA is the temporary merge commit)."""
        if self.event:
            pr = self.event.get("pull_request")
            if isinstance(pr, dict) and isinstance(pr.get("head"), dict):
                sha = pr["head"].get("sha")
                if isinstance(sha, str) and sha:
                    return sha
        return self.sha

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
