"""The CLI boundary: exit codes, and the same problem paths from every command."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import __version__
from reconciler.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert __version__ in result.output


def test_unknown_option_is_exit_1_not_2() -> None:
    # 2 means "changes present" for this tool, so usage errors must not use it.
    result = CliRunner().invoke(main, ["--no-such-option"])
    assert result.exit_code == 1


def test_help_lists_every_command_and_each_is_the_one_its_module_holds() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = [ln.split()[0] for ln in result.output.split("Commands:")[1].splitlines() if ln.strip()]
    assert listed == list(COMMANDS)
    for name, module in COMMANDS.items():
        assert importlib.import_module(f"reconciler.commands.{module}").command.name == name
    commands = {p.stem for p in (ROOT / "reconciler" / "commands").glob("*.py")}
    assert set(COMMANDS.values()) <= commands


HEAVY = ["miru_platform_sdk", "httpx", "git", "reconciler.platform.client"]


def _loaded_by(args: list[str], cwd: Path, first: str = "") -> tuple[object, list[str]]:
    """Runs `reconcile ARGS` in a fresh interpreter (after `first`): its exit code and which
    of `HEAVY` it imported."""
    script = (
        f"import json, sys\n{first}\nfrom reconciler.cli import main\nsys.argv = {['reconcile', *args]!r}\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd)
    assert run.stdout, run.stderr
    code, loaded = json.loads(run.stdout.splitlines()[-1])
    return code, loaded


def test_validate_loads_neither_the_sdk_nor_httpx_nor_git(tmp_path: Path) -> None:
    """Commands are imported when they run: `validate` (pre-commit hooks, editors) starts
    without the platform's client libraries, which were most of its start-up time."""
    examples = str(ROOT / "examples")
    assert _loaded_by(["validate", examples], tmp_path) == (0, [])
    # What the check would see had the CLI imported every command (so it can fail).
    assert _loaded_by(["validate", examples], tmp_path, "import reconciler.commands.plan") == (0, HEAVY)


def _copy_examples(dest: Path) -> Path:
    shutil.copytree(ROOT / "examples", dest, ignore=shutil.ignore_patterns(".reconcile", "workflows"))
    return dest


def _stderr_problems(args: list[str]) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, [ln for ln in result.stderr.splitlines() if ": error: " in ln]


def test_every_command_shows_problem_paths_relative_to_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # validate, plan and apply print the same clickable `path:line:col` for the same problem
    # (plan and apply print ValidationFailed through the CLI boundary).
    ex = _copy_examples(tmp_path / "fleet" / "ex")
    manifest = ex / "deploymentsets" / "lab-canary.yaml"
    manifest.write_text(manifest.read_text() + "  activation: later\n")
    monkeypatch.chdir(tmp_path)
    runs = {
        name: _stderr_problems(args)
        for name, args in {
            "validate": ["validate", "fleet/ex"],
            "plan": ["plan", "fleet/ex"],
            "apply": ["apply", "fleet/ex", "--auto-approve"],
            "drift": ["drift", "fleet/ex"],
        }.items()
    }
    for name, (code, lines) in runs.items():
        assert code == 1, name
        assert lines == runs["validate"][1], name
        assert len(lines) == 1 and "spec.activation" in lines[0], name
        assert lines[0].startswith("fleet/ex/deploymentsets/lab-canary.yaml:"), name
    # From inside the project the same file is shown relative to there.
    monkeypatch.chdir(ex / "deploymentsets")
    code, lines = _stderr_problems(["plan", ".."])
    assert code == 1 and lines[0].startswith("lab-canary.yaml:")


def test_platform_side_problems_use_the_same_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A group missing on the platform is only found by plan (ValidationFailed from the plan
    # builder, not the loader): still the path validate would show.
    ex = _copy_examples(tmp_path / "ex")
    manifest = ex / "deploymentsets" / "warehouse-amrs.yaml"
    manifest.write_text(manifest.read_text().replace("groups: [fleet]", "groups: [flet]"))
    monkeypatch.chdir(tmp_path)
    code, lines = _stderr_problems(["plan", "ex"])
    assert code == 1
    # The entry itself, not the `groups:` key: 9:14 is `flet` in `    groups: [flet]`.
    assert lines == [
        "ex/deploymentsets/warehouse-amrs.yaml:9:14: error: group 'flet' does not exist on the platform"
    ], lines


def test_a_bug_is_exit_3_with_a_redacted_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.commands import validate

    def broken(path: Path) -> None:
        raise RuntimeError("unexpected state while holding key sk-bug-0123456789")

    monkeypatch.setenv("MIRU_API_KEY", "sk-bug-0123456789")
    monkeypatch.setattr(validate, "collect_problems", broken)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.stderr and "RuntimeError" in result.stderr
    assert "sk-bug-0123456789" not in result.stderr + result.stdout and "key ***" in result.stderr
    assert "This is a bug in reconcile" in result.stderr


@pytest.mark.parametrize(("value", "colour"), [(None, True), ("", True), ("1", False), ("0", False)])
def test_consoles_respect_no_color(monkeypatch: pytest.MonkeyPatch, value: str | None, colour: bool) -> None:
    # https://no-color.org: any non-empty value turns colour off, even "0".
    from reconciler import output

    if value is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", value)
    for console in (output.stdout_console(), output.stderr_console()):
        assert console.no_color is not colour


def test_non_tty_output_is_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler import output

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    result = CliRunner().invoke(main, ["--version"])  # CliRunner's streams are not TTYs
    assert "\x1b[" not in result.output
    assert output.is_interactive() is False
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "dumb")
    assert output.is_interactive() is False
