"""Bad API keys and non-finite numbers (issue 12, item 3): clear errors, never a traceback,
never the key echoed; every non-finite number at its line and column."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
UNREACHABLE = "http://127.0.0.1:9/beta"  # discard port: nothing listens


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".reconcile", "workflows"))
    return root


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("key-é", "non-ASCII"),
        ("sk-live-abcdef\n", "whitespace"),
        ("sk-live-abcdef\r\n", "whitespace"),
        ("  sk-live-abcdef", "whitespace"),
        ("sk-live\x01abcdef", "control character"),
        ("sk-live\x7fabcdef", "control character"),
        ("sk-live-\u200babcdef", "non-ASCII"),
    ],
)
def test_a_key_headers_cannot_carry_is_a_clear_error(project: Path, key: str, problem: str) -> None:
    env = {"MIRU_API_KEY": key, "MIRU_BASE_URL": UNREACHABLE}
    result = CliRunner(env=env).invoke(main, ["plan", str(project)])
    assert result.exit_code == 1, result.output
    assert "MIRU_API_KEY" in result.stderr and problem in result.stderr
    assert "network" not in result.stderr and "Traceback" not in result.stderr
    assert key.strip() not in result.output and "abcdef" not in result.output


def test_a_good_key_goes_on_to_the_platform(project: Path) -> None:
    env = {"MIRU_API_KEY": "sk-live-abcdef", "MIRU_BASE_URL": UNREACHABLE}
    result = CliRunner(env=env).invoke(main, ["plan", str(project)])
    assert result.exit_code == 1 and "MIRU_API_KEY" not in result.stderr
    assert "sk-live-abcdef" not in result.output


def test_a_non_ascii_key_from_a_real_environment_exits_1(project: Path) -> None:
    exe = Path(sys.executable).parent / "reconcile"
    env = {**os.environ, "MIRU_API_KEY": "key-é", "MIRU_BASE_URL": UNREACHABLE}
    done = subprocess.run(
        [str(exe), "plan", str(project)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert "error: MIRU_API_KEY has a non-ASCII character" in done.stderr and "key-é" not in done.stderr


def test_every_non_finite_number_in_json_content_is_an_error_at_its_place(project: Path) -> None:
    cfg = project / "configs" / "motion-control.json"
    data = json.loads(cfg.read_text())
    data["max_speed"] = "@1"
    data["safety"]["lidar_zones"] = ["@2", "@3"]
    text = json.dumps(data, indent=2)
    text = text.replace('"@1"', "1e400").replace('"@2"', "NaN").replace('"@3"', "-Infinity")
    text = text.replace("}\n}", '}, "note": "1e400 NaN in a string is fine"\n}')
    cfg.write_text(text)
    lines = text.splitlines()
    want = set()
    for token in ("1e400", "NaN", "-Infinity"):
        (n,) = [i for i, line in enumerate(lines, 1) if token in line and "string" not in line]
        want.add(f"configs/motion-control.json:{n}:{lines[n - 1].index(token) + 1}")
    result = CliRunner().invoke(main, ["validate", str(project), "--format", "json"])
    assert result.exit_code == 1, result.output
    found = {
        f"{p['file'].split('examples/')[-1]}:{p['line']}:{p['column']}" for p in json.loads(result.stdout)
    }
    assert found == want
    plan = CliRunner().invoke(main, ["plan", str(project), "--format", "json"])
    assert plan.exit_code == 1 and "Infinity" not in plan.stdout and "1e400" in plan.stderr


def test_every_non_finite_number_in_yaml_content_and_inline_values_is_an_error(project: Path) -> None:
    cfg = project / "configs" / "localization.yaml"
    cfg.write_text(cfg.read_text() + "extra: [.inf, -.Inf, .nan]\nlimit: 1.0e+999\n")
    sets = project / "deploymentsets" / "lab-canary.yaml"
    sets.write_text(sets.read_text().replace("max_speed: 1.2", "max_speed: .inf"))
    assert ".inf" in sets.read_text(), "the example's inline value moved; update this test"
    result = CliRunner().invoke(main, ["validate", str(project)])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "is not a finite number" in line]
    assert len(errors) == 5, result.stderr
    assert any("lab-canary.yaml:" in e and "'.inf'" in e for e in errors)
    assert sum("localization.yaml:" in e for e in errors) == 4


def test_a_bad_enrollment_token_is_a_diagnostic_not_a_failure(project: Path) -> None:
    result = CliRunner(env={"ENROLLMENT_TOKEN": "tok-secret-é\n"}).invoke(main, ["plan", str(project)])
    assert result.exit_code in (0, 2), result.output
    assert "(enrollment service: ENROLLMENT_TOKEN starts or ends with whitespace" in result.stdout
    assert "tok-secret" not in result.output
