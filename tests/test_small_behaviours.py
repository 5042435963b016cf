"""Small behaviours a new user trips on: a trailing slash in the base URL names the same
target; redaction keeps the scheme name of an Authorization header; the pre-commit hook runs
when only a JSON or text config file changes; counts of one are singular."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from reconciler.commands.wiring import describe_target
from reconciler.errors import redact
from reconciler.model.plan import Plan, PlannedInstance
from reconciler.model.project import Project, RemoteTarget
from reconciler.plan.groups import summary_line

ROOT = Path(__file__).resolve().parents[1]


def test_base_url_spellings_name_one_target() -> None:
    project = Project(root=Path("."), target=RemoteTarget("https://api.mirurobotics.com/beta/"))
    assert describe_target(project) == "https://api.mirurobotics.com/beta"
    for url in ("http://127.0.0.1:8080/beta/", "HTTP://127.0.0.1:8080/beta", " http://127.0.0.1:8080/beta"):
        assert describe_target(project, url) == "http://127.0.0.1:8080/beta"


def test_redaction_masks_values_not_scheme_names(monkeypatch: Any) -> None:
    monkeypatch.delenv("ENROLLMENT_TOKEN", raising=False)
    assert redact("send Authorization: Bearer <token>") == "send Authorization: Bearer <token>"
    assert redact("Authorization: Bearer s3cr3t-value") == "Authorization: Bearer ***"
    assert redact('{"authorization": "Basic dXNlcjpwYXNz"}') == '{"authorization": "Basic ***"}'
    assert redact("X-API-Key: mk_live_abc") == "X-API-Key: ***"


def _runs_for(hook: dict[str, Any], path: str) -> bool:
    """pre-commit's choice: run when always_run, else when a staged file matches `files`."""
    return bool(hook.get("always_run")) or bool(re.search(hook.get("files", ""), path))


def test_pre_commit_hook_runs_when_only_a_config_file_changes(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "reconcile-validate")
    for path in ("fleet/configs/motion-control.json", "fleet/configs/operator-notes.txt"):
        assert _runs_for(hook, path), path
    shutil.copytree(ROOT / "examples", tmp_path / "fleet", ignore=shutil.ignore_patterns(".reconcile"))
    (tmp_path / "fleet/configs/motion-control.json").write_text('{"max_speed": 1.0,}\n')
    entry = [str(Path(sys.executable).parent / "reconcile"), *hook["entry"].split()[1:], "fleet"]
    bad = subprocess.run(entry, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "fleet/configs/motion-control.json:1:" in bad.stderr


def test_one_config_instance_is_singular() -> None:
    inst = PlannedInstance("0" * 64, "motion-control", "s", "default", "json", "{}")
    assert "1 config instance to create." in summary_line(Plan(changes=(), instances=(inst,)))
    assert "0 config instances to create." in summary_line(Plan(changes=()))
