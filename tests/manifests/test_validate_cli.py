"""`reconcile validate` through the real CLI entry point (click's runner, in process)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[2]
BAD_SET = """apiVersion: reconciler/v1
kind: DeploymentSet
metadata: {name: a}
spec:
  selector: {groups: [fleet]}
  release: v1.4.1
  rollout: {strategy: rolling, canary_count: 2}
  activation: later
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def bad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "reconcile.yaml").write_text("target: {emulator: {}}\n")
    (tmp_path / "proj" / "a.yaml").write_text(BAD_SET)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "proj"


@pytest.fixture
def good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "ex", ignore=shutil.ignore_patterns(".reconcile"))
    if not (tmp_path / "ex" / "seed.yaml").exists():
        (tmp_path / "ex" / "seed.yaml").write_text("groups: []\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "ex"


def test_text_errors_on_stderr_with_paths_from_cwd(bad: Path) -> None:
    code, out, err = run("proj")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "proj/a.yaml:7:46: error: spec.rollout.canary_count: only applies to strategy canary "
        "(strategy is rolling)",
        "proj/a.yaml:8:15: error: spec.activation: expected one of deploy, stage; got 'later'",
        "2 problems found",
    ]


def test_json_format_matches_its_schema(bad: Path) -> None:
    code, out, err = run("proj", "--format", "json")
    assert code == 1 and err == ""
    data = json.loads(out)
    schema = json.loads((ROOT / "schemas" / "validate-output.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data == [
        {
            "file": "proj/a.yaml",
            "line": 7,
            "column": 46,
            "json_path": "$.spec.rollout.canary_count",
            "message": "spec.rollout.canary_count: only applies to strategy canary (strategy is rolling)",
            "severity": "error",
        },
        {
            "file": "proj/a.yaml",
            "line": 8,
            "column": 15,
            "json_path": "$.spec.activation",
            "message": "spec.activation: expected one of deploy, stage; got 'later'",
            "severity": "error",
        },
    ]


def test_github_format(bad: Path) -> None:
    (bad / "a.yaml").write_text(BAD_SET.replace("canary_count: 2", "max_parallel: 2"))
    code, out, _ = run("proj", "--format", "github")
    assert code == 1
    assert out.splitlines() == [
        "::error file=proj/a.yaml,line=8,col=15::spec.activation: expected one of deploy, stage; got 'later'"
    ]


def test_valid_project_exits_0(good: Path) -> None:
    code, out, err = run("ex")
    assert (code, err) == (0, "")
    assert out == "ex: valid (2 DeploymentSets)\n"
    code, out, _ = run("ex", "--format", "json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run(str(good / "reconcile.yaml"), "--format", "github")
    assert (code, out) == (0, "")


def test_missing_directory_is_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("nowhere")
    assert code == 1
    assert err.splitlines()[0] == (
        "nowhere: error: no such directory; pass the directory that holds reconcile.yaml"
    )
    (tmp_path / "notes.txt").write_text("")
    code, _, err = run("notes.txt")
    assert code == 1
    assert err.splitlines()[0] == (
        "notes.txt: error: not a directory; pass the directory that holds reconcile.yaml"
    )
    code, out, _ = run("nowhere", "--format", "json")
    assert code == 1 and json.loads(out)[0]["file"] == "nowhere"


def test_secret_value_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRU_API_KEY", "sk-live-0123456789")
    (tmp_path / "reconcile.yaml").write_text(
        "target:\n  base_url: https://x.example\n  api_key: sk-live-0123456789\n  api_version: 7\n"
        "enrollment: {base_url: https://e.example, client_id: sk-live-0123456789, token_env: 5}\n"
    )
    monkeypatch.chdir(tmp_path)
    for fmt in ("text", "json", "github"):
        code, out, err = run(".", "--format", fmt)
        assert code == 1
        assert "sk-live-0123456789" not in out + err
        assert "MIRU_API_KEY" in out + err


def test_bad_format_option_is_exit_1(good: Path) -> None:
    code, _, err = run("ex", "--format", "xml")
    assert code == 1 and "xml" in err


def test_online_without_api_key_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIRU_API_KEY", raising=False)
    monkeypatch.delenv("MIRU_BASE_URL", raising=False)
    (tmp_path / "reconcile.yaml").write_text("target: {base_url: 'http://127.0.0.1:9/beta'}\n")
    (tmp_path / "lab.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata: {name: lab}\nspec: {selector: {groups: [lab]}, release: v1.4.1}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert run(".")[0] == 0  # offline there is nothing to reach
    code, _, err = run(".", "--online")
    assert code == 1
    assert err.startswith("reconcile.yaml: error: MIRU_API_KEY is not set") and "Traceback" not in err
    code, out, _ = run(".", "--online", "--format", "json")
    assert code == 1
    assert [(p["file"], p["message"][:24]) for p in json.loads(out)] == [
        ("reconcile.yaml", "MIRU_API_KEY is not set;")
    ]
