"""Workflow commands (`::add-mask::`, `::stop-commands::`, annotations) only where a GitHub
Actions runner reads them: elsewhere they are plain log lines, and a mask prints the secret."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.ci import log_commands

KEY = "sk-live-0123456789abcdef"


@pytest.mark.parametrize("value", [None, "", "false", "1", "TRUE"])
def test_outside_github_actions_nothing_is_a_workflow_command(
    value: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    else:
        monkeypatch.setenv("GITHUB_ACTIONS", value)
    monkeypatch.setenv("MIRU_API_KEY", KEY)
    buf = io.StringIO()
    log_commands.mask([KEY, "gh-token-xyz"], buf)
    with log_commands.commands_stopped(buf):
        buf.write("plan output\n")
    assert buf.getvalue() == "plan output\n"
    line = log_commands.annotation(
        "error", f"bad\nkey {KEY}", file="a.yaml", line=3, column=4, title="validate"
    )
    assert "::" not in line and KEY not in line
    assert line == "validate: a.yaml:3:4: error: bad\nkey ***"


def test_on_github_actions_masks_and_annotations_are_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    buf = io.StringIO()
    log_commands.mask([KEY], buf)
    assert buf.getvalue() == f"::add-mask::{KEY}\n"
    assert log_commands.annotation("warning", "w", file="a.yaml") == "::warning file=a.yaml::w"


def test_the_comment_step_prints_no_mask_outside_actions(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RECONCILE_"))}
    env["RECONCILE_GITHUB_TOKEN"] = KEY
    body = tmp_path / "body.md"
    body.write_text("hello\n")
    args = [sys.executable, "-m", "reconciler.ci", "comment", "--path", "x", "--body-file", str(body)]
    outside = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert outside.returncode == 1 and "not a pull_request event" in outside.stdout + outside.stderr
    assert KEY not in outside.stdout + outside.stderr and "::" not in outside.stdout
    inside = subprocess.run(
        args, env={**env, "GITHUB_ACTIONS": "true"}, capture_output=True, text=True, timeout=60
    )
    assert f"::add-mask::{KEY}" in inside.stdout and "::error title=reconcile action::" in inside.stdout
