"""The runner-facing pieces on their own: step outputs, summary limits, workflow-command
escaping, event payloads, the problem table."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from composite_runner import parse_output_file

from reconciler.ci import apply_report, log_commands, runner, step_files, validate_report


def test_outputs_survive_newlines_and_delimiter_lookalikes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = runner.RunnerEnv(output_file=out)
    values = {"plan-json": "/tmp/x=y/plan.json", "note": "line1\nEOF\nname<<EOF\nline4", "empty": ""}
    step_files.set_outputs(env, values)
    step_files.set_outputs(env, {"exitcode": "2"})
    assert parse_output_file(out) == {**values, "exitcode": "2"}


def test_annotation_escaping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    line = log_commands.annotation(
        "error", "50% bad\nsecond line", file="a,b:c.yaml", line=3, column=7, title="t"
    )
    assert line == "::error title=t,file=a%2Cb%3Ac.yaml,line=3,col=7::50%25 bad%0Asecond line"
    assert log_commands.annotation("warning", "w") == "::warning::w"
    assert log_commands.annotation("bogus", "x").startswith("::error::")


def test_secrets_are_redacted_in_annotations_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRU_API_KEY", "sk-live-abcdef123456")
    assert "sk-live" not in log_commands.annotation("error", "key sk-live-abcdef123456 refused")
    summary = tmp_path / "summary"
    step_files.append_summary(runner.RunnerEnv(summary_file=summary), "used sk-live-abcdef123456")
    assert "sk-live" not in summary.read_text() and "***" in summary.read_text()


def test_summary_stays_under_githubs_limit(tmp_path: Path) -> None:
    summary = tmp_path / "summary"
    summary.write_text("x" * 200_000 + "\n")
    env = runner.RunnerEnv(summary_file=summary)
    step_files.append_summary(env, "".join(f"| row {i} | ✅ |\n" for i in range(100_000)))
    text = summary.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 1024 * 1024
    assert "truncated" in text
    assert all(ln.endswith("✅ |") for ln in text.splitlines() if ln.startswith("| row"))


def test_mask_and_stop_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    buf = io.StringIO()
    log_commands.mask(["tok-1", "multi\nline"], buf)
    assert buf.getvalue().splitlines() == ["::add-mask::tok-1", "::add-mask::multi", "::add-mask::line"]
    buf = io.StringIO()
    with log_commands.commands_stopped(buf):
        buf.write("::error::from a manifest\n")
    first, middle, last = buf.getvalue().splitlines()
    token = first.removeprefix("::stop-commands::")
    assert len(token) == 32 and middle == "::error::from a manifest" and last == f"::{token}::"


def test_event_payloads(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12, "head": {"sha": "abc"}}}))
    pr = runner.RunnerEnv.from_environ(
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_SHA": "merge",
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_RUN_ID": "9",
        }
    )
    assert pr.pull_request_number == 12 and pr.head_sha == "abc"
    assert pr.run_url == "https://github.com/o/r/actions/runs/9"
    push = runner.RunnerEnv.from_environ(
        {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": "merge"}
    )
    assert push.pull_request_number is None and push.api_url == "https://api.github.com"
    assert runner.RunnerEnv.from_environ({}).output_file is None


def test_problem_table_escapes_cells() -> None:
    problems = validate_report.parse_problems(
        json.dumps(
            [
                {
                    "file": "a.yaml",
                    "line": 2,
                    "column": 5,
                    "message": "expected a|b\n<got>",
                    "json_path": "$.x",
                    "severity": "error",
                },
                {
                    "file": "b.yaml",
                    "line": None,
                    "column": None,
                    "message": "deprecated",
                    "json_path": None,
                    "severity": "warning",
                },
            ]
        )
    )
    assert problems is not None
    md = validate_report.problems_markdown(runner.RunnerEnv(), "fleet", problems)
    assert "1 error, 1 warning" in md and md.startswith("### ❌")
    assert "expected a&#124;b &lt;got&gt;" in md
    assert "`a.yaml:2:5`" in md and "`b.yaml`" in md
    assert validate_report.parse_problems("error: not json") is None
    assert validate_report.parse_problems('{"not": "a list"}') is None


def test_warnings_alone_are_folded() -> None:
    problems = validate_report.parse_problems(
        json.dumps(
            [
                {
                    "file": "r.yaml",
                    "line": None,
                    "column": None,
                    "message": "opaque schema, content not checked",
                    "json_path": None,
                    "severity": "warning",
                }
            ]
        )
    )
    assert problems is not None
    md = validate_report.problems_markdown(runner.RunnerEnv(), "fleet", problems)
    assert md.startswith("<details><summary>⚠️") and md.rstrip().endswith("</details>")


def test_inputs_path_is_never_an_option() -> None:
    from reconciler.ci.inputs import Inputs

    assert Inputs.from_environ({"RECONCILE_PATH": "-h"}).path == "./-h"
    assert Inputs.from_environ({"RECONCILE_PATH": " fleet "}).path == "fleet"
    assert Inputs.from_environ({}).path == "."


def test_apply_summary_lists_a_blocked_device_once() -> None:
    # apply's JSON has blocked devices both in the ledger (not_attempted) and under "blocked".
    blocked = {
        "device": "amr-spare-01",
        "deployment_set": "warehouse-amrs",
        "reason": "device was never enrolled",
        "reason_code": "not-enrolled",
    }
    data = {
        "rollouts": [],
        "blocked": [blocked],
        "ledger": [
            {
                "device": "amr-east-01",
                "deployment_set": "warehouse-amrs",
                "action": "deploy",
                "state": "succeeded",
            },
            {
                "device": "amr-east-07",
                "deployment_set": "warehouse-amrs",
                "action": "deploy",
                "state": "deferred",
                "reason": "device offline",
            },
            {**blocked, "action": "blocked", "state": "not_attempted"},
        ],
    }
    md = apply_report.apply_markdown("fleet", 0, json.dumps(data), "")
    assert md.count("amr-spare-01") == 1
    assert "amr-east-07" in md and "deferred" in md
    assert "amr-east-01" not in md
